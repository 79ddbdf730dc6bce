/// Why an ONNX model could not be imported. Cases name the file and the node, tensor or opset.
public enum ONNXError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case opset(path: String, reason: String)
    case tensor(path: String, name: String, reason: String)
    case externalData(path: String, tensor: String, reason: String)
    /// Every unsupported (domain, op type, opset) with the nodes that use it.
    case unsupportedOps(path: String, ops: [String])
    case node(path: String, node: String, reason: String)
    case graph(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(p, r): return "\(p): cannot read: \(r)"
        case let .malformed(p, r): return "\(p): not a valid ONNX model: \(r)"
        case let .opset(p, r): return "\(p): \(r)"
        case let .tensor(p, n, r): return "\(p): tensor '\(n)': \(r)"
        case let .externalData(p, t, r): return "\(p): external data of tensor '\(t)': \(r)"
        case let .unsupportedOps(p, ops): return "\(p): unsupported operator(s): " + ops.joined(separator: "; ")
        case let .node(p, n, r): return "\(p): node '\(n)': \(r)"
        case let .graph(p, r): return "\(p): \(r)"
        }
    }
}
