import VMoECore

extension Graph {
    /// Checks that the graph is well formed: every value defined once before use, every declared type
    /// equal to the inferred one, every constant's bytes matching its shape. Runs after every pass.
    public func verify() throws {
        var defined = Set<String>()
        for (name, t) in constants {
            guard let n = elementCount(t.shape), t.dtype.byteCount(elements: n) == t.byteCount else {
                throw IRError.verifier(node: name, reason: "constant holds \(t.byteCount) bytes, shape \(t.shape) of \(t.dtype) needs \(t.dtype.byteCount(elements: elementCount(t.shape) ?? 0) ?? -1)")
            }
            defined.insert(name)
        }
        for i in inputs {
            guard defined.insert(i.name).inserted else { throw IRError.verifier(node: i.name, reason: "graph input defined twice") }
        }
        var nodeNames = Set<String>()
        for node in nodes {
            guard !node.name.isEmpty, nodeNames.insert(node.name).inserted else {
                throw IRError.verifier(node: node.name, reason: "node name is empty or repeated")
            }
            var ins = [ValueType]()
            for v in node.inputs {
                guard defined.contains(v), let t = type(of: v) else {
                    throw IRError.verifier(node: node.name, reason: "input '\(v)' is not defined before this node")
                }
                ins.append(t)
            }
            let inferred = try node.op.outputTypes(ins, node: node.name)
            guard inferred.count == node.outputs.count else {
                throw IRError.verifier(node: node.name, reason: "\(node.op.kind) defines \(inferred.count) outputs, node lists \(node.outputs.count)")
            }
            for (o, t) in zip(node.outputs, inferred) {
                guard defined.insert(o).inserted else { throw IRError.verifier(node: node.name, reason: "value '\(o)' is defined twice") }
                guard valueTypes[o] == t else {
                    throw IRError.verifier(node: node.name, reason: "value '\(o)' declared \(valueTypes[o].map(\.description) ?? "without a type"), inferred \(t)")
                }
            }
        }
        guard !outputs.isEmpty else { throw IRError.verifier(node: "<graph>", reason: "graph has no outputs") }
        for o in outputs where !defined.contains(o) {
            throw IRError.verifier(node: "<graph>", reason: "output '\(o)' is never defined")
        }
        for v in valueTypes.keys where !nodes.contains(where: { $0.outputs.contains(v) }) {
            throw IRError.verifier(node: v, reason: "a type is declared for a value no node defines")
        }
    }
}
