import VMoECore

extension Graph {
    /// (node index, input position) of every use of `value`.
    public func uses(of value: String) -> [(node: Int, input: Int)] {
        var r = [(Int, Int)]()
        for (i, n) in nodes.enumerated() { for (j, v) in n.inputs.enumerated() where v == value { r.append((i, j)) } }
        return r
    }

    public func producer(of value: String) -> Int? { nodes.firstIndex { $0.outputs.contains(value) } }

    /// Re-derives every node output's type after an edit that changed shapes (slicing experts or classes).
    public mutating func reinferTypes() throws {
        valueTypes = [:]
        for n in nodes {
            let ins = try n.inputs.map { v -> ValueType in
                guard let t = type(of: v) else { throw IRError.verifier(node: n.name, reason: "input '\(v)' is not defined") }
                return t
            }
            for (o, t) in zip(n.outputs, try n.op.outputTypes(ins, node: n.name)) { valueTypes[o] = t }
        }
    }

    /// Removes nodes whose outputs nothing needs, and constants no node reads. Returns the counts.
    @discardableResult
    public mutating func eliminateDeadCode() -> (nodes: Int, constants: Int) {
        var live = Set(outputs)
        var keep = [Bool](repeating: false, count: nodes.count)
        for i in nodes.indices.reversed() where nodes[i].outputs.contains(where: live.contains) {
            keep[i] = true
            live.formUnion(nodes[i].inputs)
        }
        let removedNodes = keep.filter { !$0 }.count
        nodes = nodes.indices.filter { keep[$0] }.map { nodes[$0] }
        let deadConstants = constants.keys.filter { !live.contains($0) }
        for c in deadConstants { constants[c] = nil }
        for v in valueTypes.keys where !nodes.contains(where: { $0.outputs.contains(v) }) { valueTypes[v] = nil }
        return (removedNodes, deadConstants.count)
    }
}

