import Foundation
import VMoECore
import VMoEIR
import VMoEHDF5
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
    public var passes: [PassReport]
    public var seconds: Double
}

/// An imported model before it is written: graph, config and what the import noticed.
public struct ImportedModel {
    public var graph: Graph
    public var config: ModelConfig
    public var ignoredTensors: [String]
    public var warnings: [String]
}

public enum Converter {
    public static let version = "vmoe-convert 0.1.0"

    /// Reads a checkpoint into the IR. `.h5`/`.hdf5` files (or any file with HDF5's signature) go
    /// through the HDF5 importer.
    public static func importModel(path: String, options: ConvertOptions) throws -> ImportedModel {
        let ckpt = try HDF5Checkpoint.read(path: path)
        let file = URL(fileURLWithPath: path).lastPathComponent
        var raw = [String: JSONValue]()
        if let text = ckpt.configJSON {
            guard let obj = JSONValue.parseObject(Data(text.utf8)) else {
                throw ConvertError.model(file: path, reason: "attribute 'config' is not a JSON object")
            }
            raw = obj
        }
        if let cp = options.configPath {
            guard let data = FileManager.default.contents(atPath: cp) else { throw ConvertError.option("\(cp): cannot read config file") }
            guard let obj = JSONValue.parseObject(data) else { throw ConvertError.option("\(cp): not a JSON object") }
            raw.merge(obj) { _, new in new }
        }
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
            return ImportedModel(graph: result.graph, config: config, ignoredTensors: result.unusedTensors, warnings: warnings)
        } catch let e as IRError {
            throw ConvertError.model(file: path, reason: e.description)
        }
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
                                passes: reports, seconds: Date().timeIntervalSince(start))
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
            goldenIn = GoldenInputs.make(count: options.goldenCount, channels: c.inChannels, size: c.imageSize, seed: options.goldenSeed)
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
