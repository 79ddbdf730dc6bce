import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files all-or-nothing: to a temporary file beside the target, flushed, then renamed over it.
public enum AtomicFile {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// The temporary name used while `path` is being written; a killed writer leaves only this behind.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(chunks: [$0], to: path) }
    }

    /// Writes the concatenation of `chunks`, so large files need not be assembled in memory first.
    public static func write(chunks: [UnsafeRawBufferPointer], to path: String) throws {
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Error(path: path, reason: String(cString: strerror(errno))) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            for chunk in chunks {
                var off = 0
                while off < chunk.count {
                    let n = Glibc.write(fd, chunk.baseAddress! + off, chunk.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        let reason = String(cString: strerror(errno))
                        close(fd)
                        throw Error(path: path, reason: reason)
                    }
                    off += n
                }
            }
            if fsync(fd) != 0 { let r = String(cString: strerror(errno)); close(fd); throw Error(path: path, reason: r) }
            close(fd)
            if rename(tmp, path) != 0 { throw Error(path: path, reason: String(cString: strerror(errno))) }
            ok = true
        }
    }
}
