/// Why a model could not be executed on the given inputs.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    case missingInput(name: String)
    case inputType(name: String, expected: String, actual: String)
    case golden(reason: String)

    public var description: String {
        switch self {
        case let .missingInput(n): return "input '\(n)' was not given"
        case let .inputType(n, e, a): return "input '\(n)' is \(a), expected \(e)"
        case let .golden(r): return r
        }
    }
}
