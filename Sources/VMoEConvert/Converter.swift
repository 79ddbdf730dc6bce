import Foundation
import VMoECore
import VMoEIR
import VMoEHDF5
import VMoEFormat
import VMoERuntime

/// Options of one conversion (the flags of `vmoe-convert`).
public struct ConvertOptions {
    public var configPath: String?
    public var goldenCount = 2
    public var goldenSeed: UInt64 = 0
    public var goldenInputPath: String?
    public var threads = 1
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

    /// Imports, computes golden outputs on the final graph, and writes `output` atomically.
    public static func convert(input: String, output: String, options: ConvertOptions,
                               progress: (String) -> Void = { _ in }) throws -> ConversionReport {
        let start = Date()
        progress("importing \(input)")
        let imported = try importModel(path: input, options: options)
        let graph = imported.graph
        try graph.verify()
        let c = imported.config
        let goldenIn: Tensor
        if let gp = options.goldenInputPath {
            goldenIn = try NPY.read(path: gp)
        } else {
            guard options.goldenCount >= 1, options.goldenCount <= 64 else { throw ConvertError.option("--golden-count must be in 1...64") }
            goldenIn = GoldenInputs.make(count: options.goldenCount, channels: c.inChannels, size: c.imageSize, seed: options.goldenSeed)
        }
        progress("computing golden outputs for \(goldenIn.shape.first ?? 0) image(s)")
        let exec = try Executor(graph: graph, threads: options.threads)
        let outs = try exec.run([ViTGraphBuilder.imageInput: goldenIn])
        let provenance = Provenance(source: URL(fileURLWithPath: input).lastPathComponent, sourceSHA256: try sha256(ofFile: input),
                                    converter: version, passes: [], goldenSeed: options.goldenInputPath == nil ? options.goldenSeed : 0,
                                    goldenCount: goldenIn.shape.first ?? 0, ignoredTensors: imported.ignoredTensors)
        let model = VMoEModel(metadata: Metadata(config: c, provenance: provenance), graph: graph,
                              goldenInputs: [ViTGraphBuilder.imageInput: goldenIn], goldenOutputs: outs)
        progress("writing \(output)")
        try VMoEWriter.write(model, to: output)
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int) ?? 0
        return ConversionReport(input: input, output: output, family: c.family.rawValue, nodes: graph.nodes.count,
                                parameters: graph.parameterCount, fileBytes: size, warnings: imported.warnings,
                                seconds: Date().timeIntervalSince(start))
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
