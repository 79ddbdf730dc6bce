import VMoEIR

/// Why a conversion failed; `description` is the one line the CLI prints.
public enum ConvertError: Error, CustomStringConvertible {
    /// The input model or its config is wrong; `file` is the input, `reason` names the tensor or key.
    case model(file: String, reason: String)
    case unsupportedInput(file: String, reason: String)
    case option(String)

    public var description: String {
        switch self {
        case let .model(f, r): return "\(f): \(r)"
        case let .unsupportedInput(f, r): return "\(f): \(r)"
        case let .option(r): return r
        }
    }
}
