import VMoECore
import VMoEIR

extension Graph {
    /// (node index, input position) of every use of `value`.
    func uses(of value: String) -> [(node: Int, input: Int)] {
        var r = [(Int, Int)]()
        for (i, n) in nodes.enumerated() { for (j, v) in n.inputs.enumerated() where v == value { r.append((i, j)) } }
        return r
    }

    func producer(of value: String) -> Int? { nodes.firstIndex { $0.outputs.contains(value) } }

    /// Re-derives every node output's type after an edit that changed shapes (slicing experts or classes).
    mutating func reinferTypes() throws {
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
    mutating func eliminateDeadCode() -> (nodes: Int, constants: Int) {
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

/// Runs a graph on images, returning its outputs and the requested intermediate values.
enum Evaluate {
    static func run(_ g: Graph, _ images: Tensor, threads: Int, fetch: [String] = []) throws -> [String: Tensor] {
        try VMoERuntimeBridge.run(g, images, threads: threads, fetch: fetch)
    }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.floatValues(), b.floatValues()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
