import Foundation
import VMoECore
import VMoEIR
import VMoEHDF5
import VMoEONNX
import VMoEFormat
import VMoERuntime
import VMoEPasses

/// Options of one conversion (the flags of `vmoe-convert`).
public struct ConvertOptions {
    public var configPath: String?
    public var goldenCount = 2
    public var goldenSeed: UInt64 = 0
    public var goldenInputPath: String?
    public var threads = 1
    /// Explicit pass list (`--passes`); nil = the default pipeline: fold, then requested prune, then quantize.
    public var passes: [String]?
    public var printAfter: Set<String> = []
    public var calibrationPath: String?
    public var pruneUnusedExperts = false
    public var minExpertShare: Double?
    /// Class indices or names, comma-separated, or a file holding them (one per line or comma-separated).
    public var keepClasses: String?
    public var quantize: Precision?
    public var quantizeExperts: Precision?
    public var keepFloat: String?
    public var int4FallbackToInt8 = false
    public init() {}
}

/// What a conversion did, for the human summary and `--json`.
public struct ConversionReport: Codable {
    public var input: String
    public var output: String
    public var family: String
    public var nodes: Int
    public var parameters: Int
    public var fileBytes: Int
    public var warnings: [String]
    public var notes: [String]
    public var passes: [PassReport]
    public var seconds: Double
}

/// An imported model before it is written: graph, config and what the import noticed.
public struct ImportedModel {
    public var graph: Graph
    public var config: ModelConfig
    public var ignoredTensors: [String]
    public var warnings: [String]
    /// What the import did, for information (ONNX: op types seen, patterns raised).
    public var notes: [String] = []
    /// ONNX op types seen in the source (empty for HDF5).
    public var onnxOps: [String] = []
}

public enum Converter {
    public static let version = "vmoe-convert 0.1.0"

    /// True for ONNX files: by extension, else by not starting with HDF5's signature.
    static func isONNX(_ path: String) -> Bool {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "onnx" { return true }
        if ["h5", "hdf5", "hdf"].contains(ext) { return false }
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return h.readData(ofLength: 8) != Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) && ext != ""
    }

    /// Reads a checkpoint into the IR: ONNX files through the ONNX importer, others as HDF5.
    public static func importModel(path: String, options: ConvertOptions) throws -> ImportedModel {
        if isONNX(path) { return try importONNX(path: path, options: options) }
        let ckpt = try HDF5Checkpoint.read(path: path)
        let file = URL(fileURLWithPath: path).lastPathComponent
        var raw = [String: JSONValue]()
        if let text = ckpt.configJSON {
            guard let obj = JSONValue.parseObject(Data(text.utf8)) else {
                throw ConvertError.model(file: path, reason: "attribute 'config' is not a JSON object")
            }
            raw = obj
        }
        try mergeConfigFile(into: &raw, options)
        let inferred = ModelConfig.inferred(from: ckpt.tensors.mapValues(\.shape))
        for (k, v) in inferred where raw[k] == nil { raw[k] = v }
        do {
            let config = try ModelConfig.parse(raw)
            var builder = ViTGraphBuilder(config: config, tensors: ckpt.tensors)
            let result = try builder.build()
            var warnings = [String]()
            if !result.unusedTensors.isEmpty {
                warnings.append("\(file): \(result.unusedTensors.count) tensor(s) not used by a \(config.family.rawValue) model and not converted: \(result.unusedTensors.joined(separator: ", "))")
            }
            return ImportedModel(graph: result.graph, config: config, ignoredTensors: result.unusedTensors, warnings: warnings, onnxOps: [])
        } catch let e as IRError {
            throw ConvertError.model(file: path, reason: e.description)
        }
    }

    /// ONNX models carry no config: the graph determines image size, channels and classes, the raised
    /// patterns the width, depth and MoE settings; `--config` supplies the rest (names, super-classes).
    static func importONNX(path: String, options: ConvertOptions) throws -> ImportedModel {
        let r: ONNXImporter.Result
        do { r = try ONNXImporter.importModel(path: path) } catch let e as ONNXError { throw ConvertError.model(file: path, reason: e.description.hasPrefix(path) ? String(e.description.dropFirst(path.count + 2)) : e.description) }
        var g = r.graph
        guard let input = g.inputs.first, input.type.shape.count == 4, let out = g.outputs.first, let ot = g.valueTypes[out], ot.shape.count == 2 else {
            throw ConvertError.model(file: path, reason: "expected images [N,C,H,W] in and logits [N,classes] out")
        }
        let dims = input.type.shape.map { $0.resolved(batch: 1) }
        guard dims[2] == dims[3] else { throw ConvertError.model(file: path, reason: "images must be square, input is \(input.type)") }
        var raw: [String: JSONValue] = [
            "family": .string("vit"), "image_size": .number(Double(dims[2])), "in_channels": .number(Double(dims[1])),
            "num_classes": .number(Double(ot.shape[1].resolved(batch: 1))), "patch_size": .number(1), "dim": .number(1),
            "depth": .number(1), "heads": .number(1), "mlp_ratio": .number(1),
        ]
        // Width and patch from the patch embedding; depth from the attention softmaxes; MoE from the raised ops.
        var hidden: Int?
        for n in g.nodes {
            switch n.op {
            case let .patchEmbed(p):
                if let w = g.type(of: n.inputs[1]) { raw["patch_size"] = .number(Double(p)); raw["dim"] = .number(Double(w.shape[0].resolved(batch: 1))) }
            case let .attention(h, _): raw["heads"] = .number(Double(h))
            case let .layerNorm(eps):
                if raw["layer_norm_eps"] == nil { raw["layer_norm_eps"] = .number(Double("\(eps)") ?? Double(eps)) }
                // Without a raised patch embedding (fixed-batch exports) the width comes from the norms.
                if raw["dim"] == .number(1), let d = g.type(of: n.inputs[1])?.shape.first?.resolved(batch: 1) { raw["dim"] = .number(Double(d)) }
            case let .generic(.conv(stride, _)):
                if raw["patch_size"] == .number(1), stride.count == 2, stride[0] == stride[1] { raw["patch_size"] = .number(Double(stride[0])) }
            case .gelu: if hidden == nil { hidden = g.type(of: n.inputs[0])?.shape.last?.resolved(batch: 1) }
            case .moeMLP: if hidden == nil { hidden = g.type(of: n.inputs[3])?.shape.last?.resolved(batch: 1) }
            default: break
            }
        }
        if let h = hidden, case let .number(d)? = raw["dim"], d > 1 { raw["mlp_ratio"] = .number(Double(h) / d) }
        if case let .number(d)? = raw["dim"], case let .number(h)? = raw["heads"], Int(d) % max(1, Int(h)) != 0 { raw["heads"] = .number(1) }
        let softmaxes = g.nodes.filter { if case .generic(.softmax) = $0.op { return ($0.inputs.first.flatMap { g.type(of: $0) }?.shape.count ?? 0) >= 3 } else { if case .attention = $0.op { return true }; return false } }.count
        raw["depth"] = .number(Double(max(1, softmaxes)))
        let routes = g.nodes.compactMap { n -> RouteSpec? in if case let .route(s) = n.op { return s } else { return nil } }
        let moes = g.nodes.indices.filter { if case .moeMLP = g.nodes[$0].op { return true } else { return false } }
        if let spec = routes.first, !moes.isEmpty {
            raw["family"] = .string("vmoe")
            raw["moe_layers"] = .number(Double(min(moes.count, max(1, softmaxes))))
            raw["depth"] = .number(Double(max(moes.count, softmaxes)))
            raw["num_experts"] = .number(Double(g.type(of: g.nodes[moes[0]].inputs[3])?.shape[0].resolved(batch: 1) ?? 1))
            raw["top_k"] = .number(Double(spec.topK))
            raw["router"] = .string(routes.count == 1 && moes.count > 1 ? "shared" : "per_layer")
            raw["router_input"] = .string(spec.input.rawValue)
            raw["gate"] = .string(spec.gate.rawValue)
        }
        try mergeConfigFile(into: &raw, options)
        let config: ModelConfig
        do { config = try ModelConfig.parse(raw) } catch { throw ConvertError.model(file: path, reason: "\(error)") }
        // The runtime and the golden vectors name the input "image" and the output "logits".
        try rename(&g, from: input.name, to: ViTGraphBuilder.imageInput)
        try rename(&g, from: out, to: ViTGraphBuilder.logitsOutput)
        var notes = ["ONNX ops: \(r.opTypes.joined(separator: ", "))"]
        if !r.raised.isEmpty { notes.append("raised: \(r.raised.joined(separator: ", "))") }
        return ImportedModel(graph: g, config: config, ignoredTensors: [], warnings: r.warnings, notes: notes, onnxOps: r.opTypes)
    }

    /// `--config FILE.json`: its keys override the checkpoint's.
    static func mergeConfigFile(into raw: inout [String: JSONValue], _ options: ConvertOptions) throws {
        guard let cp = options.configPath else { return }
        guard let data = FileManager.default.contents(atPath: cp) else { throw ConvertError.option("\(cp): cannot read config file") }
        guard let obj = JSONValue.parseObject(data) else { throw ConvertError.option("\(cp): not a JSON object") }
        raw.merge(obj) { _, new in new }
    }

    static func rename(_ g: inout Graph, from: String, to: String) throws {
        guard from != to else { return }
        guard g.type(of: to) == nil else { throw ConvertError.model(file: "", reason: "value name '\(to)' is taken") }
        for i in g.inputs.indices where g.inputs[i].name == from { g.inputs[i].name = to }
        for i in g.nodes.indices {
            g.nodes[i].inputs = g.nodes[i].inputs.map { $0 == from ? to : $0 }
            g.nodes[i].outputs = g.nodes[i].outputs.map { $0 == from ? to : $0 }
        }
        g.outputs = g.outputs.map { $0 == from ? to : $0 }
        if let t = g.valueTypes.removeValue(forKey: from) { g.valueTypes[to] = t }
        try g.verify()
    }

    /// Imports, runs the pass pipeline, computes golden outputs on the final graph, and writes
    /// `output` atomically. `dump` receives `--print-after` listings.
    public static func convert(input: String, output: String, options: ConvertOptions,
                               progress: (String) -> Void = { _ in }, dump: (String) -> Void = { _ in }) throws -> ConversionReport {
        let start = Date()
        let (model, imported, reports) = try prepare(input: input, options: options, progress: progress, dump: dump)
        progress("writing \(output)")
        try VMoEWriter.write(model, to: output)
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int) ?? 0
        return ConversionReport(input: input, output: output, family: model.metadata.config.family.rawValue, nodes: model.graph.nodes.count,
                                parameters: model.graph.parameterCount, fileBytes: size, warnings: imported.warnings,
                                notes: imported.notes, passes: reports, seconds: Date().timeIntervalSince(start))
    }

    /// Everything but the write: the model as it will be stored, the import, and the pass reports.
    public static func prepare(input: String, options: ConvertOptions, progress: (String) -> Void = { _ in },
                               dump: (String) -> Void = { _ in }) throws -> (VMoEModel, ImportedModel, [PassReport]) {
        progress("importing \(input)")
        let imported = try importModel(path: input, options: options)
        var graph = imported.graph
        try graph.verify()
        var c = imported.config
        let goldenIn: Tensor
        if let gp = options.goldenInputPath {
            goldenIn = try NPY.read(path: gp)
        } else {
            guard options.goldenCount >= 1, options.goldenCount <= 64 else { throw ConvertError.option("--golden-count must be in 1...64") }
            // A model exported with a fixed batch takes exactly that many images.
            var count = options.goldenCount
            if let first = graph.inputs.first?.type.shape.first, case let .fixed(n) = first { count = n }
            goldenIn = try GoldenInputs.covering(graph: graph, count: count, channels: c.inChannels, size: c.imageSize,
                                                 seed: options.goldenSeed, threads: options.threads)
        }
        let calibration = try options.calibrationPath.map { try NPY.read(path: $0) }
        let passes = try pipeline(options, config: c)
        var ctx = PassContext(config: c, golden: goldenIn, calibration: calibration, threads: options.threads)
        if !passes.isEmpty { progress("running passes: \(passes.map(\.name).joined(separator: ", "))") }
        let reports: [PassReport]
        do {
            reports = try PassPipeline.run(passes, graph: &graph, context: &ctx, printAfter: options.printAfter) { name, g in
                dump("# IR after \(name)\n" + g.textDump())
            }
        } catch let e as PassError { throw ConvertError.option(e.description) }
        c = ctx.config
        progress("computing golden outputs for \(goldenIn.shape.first ?? 0) image(s)")
        let exec = try Executor(graph: graph, threads: options.threads)
        let outs = try exec.run([ViTGraphBuilder.imageInput: goldenIn])
        let provenance = Provenance(source: URL(fileURLWithPath: input).lastPathComponent, sourceSHA256: try sha256(ofFile: input),
                                    converter: version, passes: reports.map { PassRecord(name: $0.pass, summary: $0.summary) }, goldenSeed: options.goldenInputPath == nil ? options.goldenSeed : 0,
                                    goldenCount: goldenIn.shape.first ?? 0, ignoredTensors: imported.ignoredTensors)
        let model = VMoEModel(metadata: Metadata(config: c, provenance: provenance), graph: graph,
                              goldenInputs: [ViTGraphBuilder.imageInput: goldenIn], goldenOutputs: outs)
        return (model, imported, reports)
    }

    /// The passes to run, in order, checked against the flags that configure them.
    static func pipeline(_ o: ConvertOptions, config: ModelConfig) throws -> [Pass] {
        let wantsPrune = o.pruneUnusedExperts || o.keepClasses != nil
        let names = o.passes ?? (["fold"] + (wantsPrune ? ["prune"] : []) + (o.quantize != nil || o.quantizeExperts != nil ? ["quantize"] : []))
        if o.minExpertShare != nil && !o.pruneUnusedExperts { throw ConvertError.option("--min-expert-share needs --prune-unused-experts") }
        if o.pruneUnusedExperts && o.calibrationPath == nil { throw ConvertError.option("--prune-unused-experts needs --calibration CALIB.npy") }
        if wantsPrune && !config.isMoE && o.keepClasses == nil { throw ConvertError.option("--prune-unused-experts: the model has no experts") }
        var out = [Pass]()
        for n in names {
            switch n {
            case "fold": out.append(FoldPass())
            case "prune":
                guard wantsPrune else { throw ConvertError.option("pass 'prune' needs --prune-unused-experts or --keep-classes") }
                out.append(PruneExpertsPass(minShare: o.pruneUnusedExperts ? (o.minExpertShare ?? 0) : nil,
                                            keepClasses: try o.keepClasses.map { try parseClasses($0, config) }))
            case "quantize":
                guard o.quantize != nil || o.quantizeExperts != nil else { throw ConvertError.option("pass 'quantize' needs --quantize or --quantize-experts") }
                do {
                    out.append(try QuantizePass(weights: o.quantize ?? .float, experts: o.quantizeExperts,
                                                keepFloat: o.keepFloat ?? QuantizePass.defaultKeepFloat, int4FallbackToInt8: o.int4FallbackToInt8))
                } catch let e as PassError { throw ConvertError.option(e.description) }
            default: throw ConvertError.option("unknown pass '\(n)' (known: fold, prune, quantize)")
            }
        }
        return out
    }

    /// `LIST` (comma-separated indices or class names) or a file holding such a list.
    static func parseClasses(_ spec: String, _ c: ModelConfig) throws -> [Int] {
        var text = spec
        if FileManager.default.fileExists(atPath: spec) {
            guard let d = FileManager.default.contents(atPath: spec), let t = String(data: d, encoding: .utf8) else {
                throw ConvertError.option("--keep-classes: cannot read \(spec)")
            }
            text = t
        }
        let items = text.split(whereSeparator: { $0 == "," || $0 == "\n" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw ConvertError.option("--keep-classes: the set of classes is empty") }
        return try items.map { item in
            if let i = Int(item) {
                guard i >= 0, i < c.numClasses else { throw ConvertError.option("--keep-classes: class \(i) does not exist (the model has \(c.numClasses) classes)") }
                return i
            }
            guard let i = c.classNames?.firstIndex(of: item) else { throw ConvertError.option("--keep-classes: unknown class '\(item)'") }
            return i
        }
    }

    static func sha256(ofFile path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw ConvertError.model(file: path, reason: "cannot read") }
        defer { try? h.close() }
        var s = SHA256()
        while true {
            let chunk = h.readData(ofLength: 1 << 22)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { s.update($0) }
        }
        return s.finalize().hexString
    }
}
