import VMoECore

/// Appends nodes to a graph, inferring each output's type as it goes.
public struct GraphBuilder {
    public private(set) var graph: Graph

    public init(inputs: [(name: String, type: ValueType)]) {
        graph = Graph(inputs: inputs, outputs: [], nodes: [], valueTypes: [:], constants: [:])
    }

    public mutating func constant(_ name: String, _ t: Tensor) { graph.constants[name] = t }

    /// Adds `op` as node `name` and returns its output value names (`name`, or `name.0`, `name.1`, …).
    @discardableResult
    public mutating func node(_ name: String, _ op: Op, _ inputs: [String]) throws -> [String] {
        var types = [ValueType]()
        for v in inputs {
            guard let t = graph.type(of: v) else { throw IRError.verifier(node: name, reason: "input '\(v)' is not defined") }
            types.append(t)
        }
        let outs = try op.outputTypes(types, node: name)
        let names = outs.count == 1 ? [name] : outs.indices.map { "\(name).\($0)" }
        for (n, t) in zip(names, outs) { graph.valueTypes[n] = t }
        graph.nodes.append(Node(name: name, op: op, inputs: inputs, outputs: names))
        return names
    }

    public mutating func one(_ name: String, _ op: Op, _ inputs: [String]) throws -> String {
        try node(name, op, inputs)[0]
    }

    public mutating func finish(outputs: [String]) throws -> Graph {
        graph.outputs = outputs
        try graph.verify()
        return graph
    }
}
