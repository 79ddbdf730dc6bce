import VMoECore

extension Graph {
    /// A readable listing: inputs, constants with types, then one line per node in execution order.
    public func textDump() -> String {
        var out = ""
        for i in inputs { out += "input %\(i.name): \(i.type)\n" }
        for name in constants.keys.sorted() {
            let t = constants[name]!
            out += "const %\(name): \(ValueType(constant: t))\n"
        }
        for n in nodes {
            let outs = n.outputs.map { "%\($0): \(valueTypes[$0].map(\.description) ?? "?")" }.joined(separator: ", ")
            let attrs = n.op.attributeText.isEmpty ? "" : "[\(n.op.attributeText)]"
            out += "\(outs) = \(n.op.kind)\(attrs)(\(n.inputs.map { "%" + $0 }.joined(separator: ", ")))  # \(n.name)\n"
        }
        out += "output \(outputs.map { "%" + $0 }.joined(separator: ", "))\n"
        return out
    }
}
