import VMoECore
import VMoEIR

/// A pass that ran during conversion, as recorded in the file's provenance.
public struct PassRecord: Codable, Equatable, Sendable {
    public var name: String
    public var summary: String
    public init(name: String, summary: String) {
        self.name = name
        self.summary = summary
    }
}

/// Where a model came from and how it was made.
public struct Provenance: Codable, Equatable, Sendable {
    public var source: String
    public var sourceSHA256: String
    public var converter: String
    public var passes: [PassRecord]
    public var goldenSeed: UInt64
    public var goldenCount: Int
    public var ignoredTensors: [String]

    enum CodingKeys: String, CodingKey {
        case source, sourceSHA256 = "source_sha256", converter, passes, goldenSeed = "golden_seed"
        case goldenCount = "golden_count", ignoredTensors = "ignored_tensors"
    }

    public init(source: String, sourceSHA256: String, converter: String, passes: [PassRecord] = [],
                goldenSeed: UInt64 = 0, goldenCount: Int = 0, ignoredTensors: [String] = []) {
        self.source = source
        self.sourceSHA256 = sourceSHA256
        self.converter = converter
        self.passes = passes
        self.goldenSeed = goldenSeed
        self.goldenCount = goldenCount
        self.ignoredTensors = ignoredTensors
    }
}

/// The metadata section.
public struct Metadata: Codable, Equatable, Sendable {
    public var formatVersion: Int
    public var config: ModelConfig
    public var provenance: Provenance

    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", config, provenance }

    public init(config: ModelConfig, provenance: Provenance) {
        formatVersion = Int(FormatSpec.version)
        self.config = config
        self.provenance = provenance
    }
}

/// Everything a `.vmoe` file holds.
public struct VMoEModel: Sendable {
    public var metadata: Metadata
    public var graph: Graph
    /// Golden inputs and outputs keyed by graph input/output name.
    public var goldenInputs: [String: Tensor]
    public var goldenOutputs: [String: Tensor]

    public init(metadata: Metadata, graph: Graph, goldenInputs: [String: Tensor], goldenOutputs: [String: Tensor]) {
        self.metadata = metadata
        self.graph = graph
        self.goldenInputs = goldenInputs
        self.goldenOutputs = goldenOutputs
    }
}

/// The graph section's JSON form: nodes only; value types are re-inferred by the reader.
struct GraphDocument: Codable {
    struct Input: Codable {
        var name: String
        var type: ValueType
    }
    var inputs: [Input]
    var outputs: [String]
    var nodes: [Node]

    init(_ g: Graph) {
        inputs = g.inputs.map { Input(name: $0.name, type: $0.type) }
        outputs = g.outputs
        nodes = g.nodes
    }

    /// Rebuilds the typed graph over `constants`, inferring and checking every value's type.
    func graph(constants: [String: Tensor]) throws -> Graph {
        var g = Graph(inputs: inputs.map { ($0.name, $0.type) }, outputs: outputs, nodes: [], valueTypes: [:], constants: constants)
        for n in nodes {
            var types = [ValueType]()
            for v in n.inputs {
                guard let t = g.type(of: v) else { throw IRError.verifier(node: n.name, reason: "input '\(v)' is not defined before this node") }
                types.append(t)
            }
            let outs = try n.op.outputTypes(types, node: n.name)
            guard outs.count == n.outputs.count else {
                throw IRError.verifier(node: n.name, reason: "\(n.op.kind) defines \(outs.count) outputs, node lists \(n.outputs.count)")
            }
            for (name, t) in zip(n.outputs, outs) {
                guard g.valueTypes[name] == nil else { throw IRError.verifier(node: n.name, reason: "value '\(name)' is defined twice") }
                g.valueTypes[name] = t
            }
            g.nodes.append(n)
        }
        try g.verify()
        return g
    }
}
