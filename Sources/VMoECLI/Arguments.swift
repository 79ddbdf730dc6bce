/// A small command-line parser: positionals, `--flag`, `--option VALUE` and `--option=VALUE`.
public struct Arguments {
    public var positionals = [String]()
    public var flags = Set<String>()
    public var options = [String: String]()

    /// Thrown for anything the user typed wrong; the CLI prints it with the usage hint, exit 2.
    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    public init(_ args: [String], flags known: Set<String>, options valued: Set<String>) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { positionals += args[(i + 1)...]; break }
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2)), value: String?
                if let eq = name.firstIndex(of: "=") { value = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
                if known.contains(name) {
                    guard value == nil else { throw UsageError("--\(name) takes no value") }
                    flags.insert(name)
                } else if valued.contains(name) {
                    if value == nil {
                        i += 1
                        guard i < args.count else { throw UsageError("--\(name) needs a value") }
                        value = args[i]
                    }
                    options[name] = value
                } else {
                    throw UsageError("unknown option --\(name)")
                }
            } else if a == "-h" {
                flags.insert("help")
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let s = options[name] else { return d }
        guard let v = Int(s), range.contains(v) else { throw UsageError("--\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(s)'") }
        return v
    }
}

/// Exit codes shared by both executables (documented in README.md).
public enum ExitCode {
    public static let ok: Int32 = 0
    /// Bad input file, model or I/O failure.
    public static let failure: Int32 = 1
    /// Bad command line.
    public static let usage: Int32 = 2
    /// `verify`: the file is intact but the recomputed outputs differ from its golden outputs.
    public static let mismatch: Int32 = 3
}
