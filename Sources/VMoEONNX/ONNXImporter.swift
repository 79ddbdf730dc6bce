import Foundation
import VMoECore
import VMoEIR

/// Lowers an ONNX graph to the IR: constants and shape arithmetic are folded for the actual input
/// shape (a dynamic batch stays symbolic: each folded integer is k·B + c), every other node becomes an
/// IR node, and `ONNXRaise` then lifts known patterns (linear, GELU, patch embedding, class token, the
/// Mobile V-MoE router and experts) to the model-level ops.
public struct ONNXImporter {
    /// ai.onnx opsets this importer implements.
    public static let opsets = 13...21
    public static let supported: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Erf", "Sqrt", "Neg", "Exp", "Cast", "Where", "MatMul", "Gemm", "Conv",
        "Softmax", "LayerNormalization", "ReduceMean", "ReduceSum", "Reshape", "Flatten", "Transpose", "Concat", "Slice",
        "Split", "Squeeze", "Unsqueeze", "Gather", "GatherND", "Expand", "TopK", "Shape", "Constant", "ConstantOfShape",
        "Identity", "Dropout", "Range",
    ]

    /// A folded constant: element i is b[i]·B + v[i] (b is all zero unless it came from a batch dim).
    struct K {
        var shape: [Int]
        var isInt: Bool
        var v: [Double]
        var b: [Int]
        var count: Int { v.count }
        var symbolic: Bool { b.contains { $0 != 0 } }
        init(shape: [Int], isInt: Bool, v: [Double], b: [Int]? = nil) {
            self.shape = shape; self.isInt = isInt; self.v = v; self.b = b ?? [Int](repeating: 0, count: v.count)
        }
        init(_ t: ONNXTensor) { self.init(shape: t.shape, isInt: t.isInteger, v: t.values) }
        func dim(_ i: Int) -> Dim? { Dim.affine(batch: b[i], constant: v[i].clampedInt) }
    }

    enum Val {
        case k(K)
        case dyn(String)
    }

    let model: ONNXModel
    /// Nodes dropped because no graph output depends on them.
    var deadNodes = 0
    var vals = [String: Val]()
    var builder: GraphBuilder
    var counter = 0
    let path: String

    /// What the import found, for the converter's report and config.
    public struct Result {
        public var graph: Graph
        public var raised: [String]
        public var warnings: [String]
        public var opTypes: [String]
    }

    public static func importModel(path: String) throws -> Result {
        try importModel(try ONNXModel.read(path: path))
    }

    public static func importModel(_ m: ONNXModel) throws -> Result {
        var imp = try ONNXImporter(model: m)
        return try imp.run()
    }

    init(model original: ONNXModel) throws {
        // Nodes nothing reads (a traced `if mask.any()` leaves such) are dropped before any check, so an
        // op that only feeds dead code cannot block an import.
        var m = original
        var needed = Set(m.outputs.map(\.name)), live = [Bool](repeating: false, count: m.nodes.count), changed = true
        while changed {
            changed = false
            for (i, n) in m.nodes.enumerated() where !live[i] && n.outputs.contains(where: needed.contains) {
                live[i] = true; needed.formUnion(n.inputs); changed = true
            }
        }
        let dropped = live.filter { !$0 }.count
        m.nodes = m.nodes.indices.filter { live[$0] }.map { m.nodes[$0] }
        model = m
        deadNodes = dropped
        path = m.path
        guard let v = m.opsets[""] else { throw ONNXError.opset(path: m.path, reason: "the model imports no ai.onnx opset") }
        guard ONNXImporter.opsets.contains(v) else {
            throw ONNXError.opset(path: m.path, reason: "ai.onnx opset \(v) is not supported (supported: \(ONNXImporter.opsets.lowerBound)–\(ONNXImporter.opsets.upperBound))")
        }
        // Every unsupported op at once, with its nodes.
        var bad = [String: [String]]()
        for n in m.nodes where n.domain != "" || !ONNXImporter.supported.contains(n.opType) {
            bad["(\(n.domain.isEmpty ? "ai.onnx" : n.domain), \(n.opType), opset \(m.opsets[n.domain] ?? 0))", default: []].append(n.name)
        }
        if !bad.isEmpty {
            throw ONNXError.unsupportedOps(path: m.path, ops: bad.keys.sorted().map { "\($0) at \(bad[$0]!.prefix(5).joined(separator: ", "))\(bad[$0]!.count > 5 ? " and \(bad[$0]!.count - 5) more" : "")" })
        }
        guard m.inputs.count == 1, let input = m.inputs.first else {
            throw ONNXError.graph(path: m.path, reason: "expected one graph input (the images), found \(m.inputs.map(\.name))")
        }
        guard input.elemType == 1, input.dims.count == 4 else {
            throw ONNXError.graph(path: m.path, reason: "input '\(input.name)' must be float32 [N,C,H,W]")
        }
        var dims = [Dim]()
        for (i, d) in input.dims.enumerated() {
            switch d {
            case let .value(n) where n > 0: dims.append(.fixed(n))
            case .param, .unknown where i == 0: dims.append(.batch)
            default: throw ONNXError.graph(path: m.path, reason: "input '\(input.name)' axis \(i) must have a fixed size (only the batch may be symbolic)")
            }
        }
        builder = GraphBuilder(inputs: [(input.name, ValueType(.float32, dims))])
        vals[input.name] = .dyn(input.name)
        vals[""] = nil
        for (n, t) in m.initializers { vals[n] = .k(K(t)) }
    }

    mutating func run() throws -> Result {
        try checkTopology()
        for n in model.nodes { try lower(n) }
        var outs = [String]()
        for o in model.outputs {
            guard case let .dyn(v)? = vals[o.name] else { throw ONNXError.graph(path: path, reason: "output '\(o.name)' is never computed from the input") }
            outs.append(v)
        }
        var g: Graph
        do { g = try builder.finish(outputs: outs) } catch { throw ONNXError.graph(path: path, reason: "\(error)") }
        var raise = ONNXRaise(graph: g)
        do { try raise.run() } catch { throw ONNXError.graph(path: path, reason: "while raising patterns: \(error)") }
        g = raise.graph
        // Keep the output's name stable: the converter and runtime expect "logits" for classifiers.
        do { try g.verify() } catch { throw ONNXError.graph(path: path, reason: "\(error)") }
        let ops = Set(model.nodes.map(\.opType)).sorted()
        var warnings = raise.warnings
        if deadNodes > 0 { warnings.append("\(deadNodes) node(s) no output depends on were ignored") }
        return Result(graph: g, raised: raise.raised, warnings: warnings, opTypes: ops)
    }

    /// Dangling names and cycles: every input is an initializer, a graph input or an earlier output.
    func checkTopology() throws {
        var defined = Set(model.initializers.keys).union(model.inputs.map(\.name)).union([""])
        var producers = [String: String]()
        for n in model.nodes { for o in n.outputs where !o.isEmpty { producers[o] = n.name } }
        for n in model.nodes {
            for i in n.inputs where !defined.contains(i) {
                if producers[i] != nil {
                    throw ONNXError.node(path: path, node: n.name, reason: "input '\(i)' is produced by a later node ('\(producers[i]!)'): the graph is not topologically sorted or has a cycle")
                }
                throw ONNXError.node(path: path, node: n.name, reason: "input '\(i)' is not defined anywhere (dangling name)")
            }
            for o in n.outputs where !o.isEmpty {
                guard !defined.contains(o) else { throw ONNXError.node(path: path, node: n.name, reason: "output '\(o)' is defined twice") }
                defined.insert(o)
            }
        }
    }
}

extension Double {
    /// Int conversion that cannot trap: NaN → 0, out of range → Int.min/Int.max (ONNX uses INT64_MAX
    /// for "to the end", which a Double rounds to 2^63).
    var clampedInt: Int {
        if isNaN { return 0 }
        if self >= 9.2e18 { return Int.max }
        if self <= -9.2e18 { return Int.min }
        return Int(self)
    }
}
