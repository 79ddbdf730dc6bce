import VMoECore
/// Everything that can be wrong with a model while it is turned into, or checked as, a graph.
public enum IRError: Error, CustomStringConvertible, Equatable {
    /// Config keys that neither the config nor the tensor shapes determine.
    case configMissing(keys: [String])
    case configInvalid(key: String, reason: String)
    case missingTensor(name: String, expected: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case dtypeMismatch(tensor: String, expected: String, actual: DTypeName)
    case inconsistent(reason: String)
    /// The verifier's findings name the node (or value) and what was expected.
    case verifier(node: String, reason: String)

    public typealias DTypeName = String

    public var description: String {
        switch self {
        case let .configMissing(keys):
            return "config is missing \(keys.map { "'\($0)'" }.joined(separator: ", ")) (not determined by the tensor shapes; pass --config FILE.json)"
        case let .configInvalid(key, reason): return "config key '\(key)': \(reason)"
        case let .missingTensor(name, expected): return "tensor '\(name)' is missing (expected \(expected))"
        case let .shapeMismatch(t, e, a): return "tensor '\(t)' has shape \(a), expected \(e)"
        case let .dtypeMismatch(t, e, a): return "tensor '\(t)' has dtype \(a), expected \(e)"
        case let .inconsistent(r): return r
        case let .verifier(node, reason): return "graph check failed at '\(node)': \(reason)"
        }
    }
}
