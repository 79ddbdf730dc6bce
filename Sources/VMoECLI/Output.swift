import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the CLI writes; tests capture it instead of the process's streams.
public final class Output {
    public var out: (String) -> Void
    public var err: (String) -> Void

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.out = out
        self.err = err
    }

    public static let standard = Output(out: { print($0) }, err: { s in
        FileHandle.standardError.write(Data((s + "\n").utf8))
    })

    public func json<T: Encodable>(_ v: T) {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let d = try? e.encode(v), let s = String(data: d, encoding: .utf8) { out(s) }
    }
}

/// The thread count: `--threads`, else `VMOE_THREADS`, else the number of CPUs.
func threadCount(_ args: Arguments) throws -> Int {
    if args.options["threads"] != nil { return try args.int("threads", default: 1, range: 1...256) }
    if let env = ProcessInfo.processInfo.environment["VMOE_THREADS"] {
        guard let v = Int(env), v >= 1, v <= 256 else { throw Arguments.UsageError("VMOE_THREADS must be an integer in 1...256, got '\(env)'") }
        return v
    }
    return ProcessInfo.processInfo.activeProcessorCount
}
