/// Why a `.vmoe` file could not be read or written. Every case names the part of the file at fault.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    /// Fewer bytes remain than a read at `offset` of `what` needs.
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    case badMagic
    case unsupportedVersion(UInt32)
    /// A header field or layout rule is broken.
    case header(field: String, reason: String)
    case limit(what: String, value: Int, limit: Int)
    case checksumMismatch(part: String)
    case tensorEntry(index: Int, name: String?, reason: String)
    case json(section: String, reason: String)
    case graph(reason: String)

    public var description: String {
        switch self {
        case let .io(p, r): return "\(p): \(r)"
        case let .truncated(w, o, n, a): return "truncated file: \(w) at offset \(o) needs \(n) bytes, \(a) remain"
        case .badMagic: return "not a .vmoe file (bad magic)"
        case let .unsupportedVersion(v): return "unsupported .vmoe version \(v) (this reader knows version \(FormatSpec.version))"
        case let .header(f, r): return "header \(f): \(r)"
        case let .limit(w, v, l): return "\(w) is \(v), above the limit of \(l)"
        case let .checksumMismatch(p): return "checksum mismatch in \(p) (the file is damaged)"
        case let .tensorEntry(i, n, r): return "tensor table entry \(i)\(n.map { " '\($0)'" } ?? ""): \(r)"
        case let .json(s, r): return "\(s) section: \(r)"
        case let .graph(r): return "graph section: \(r)"
        }
    }
}
