/// A cursor over a byte range that checks the remaining length before every read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int
    let base: Int  // absolute file offset of `bytes[0]`, for messages

    init(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, base: Int = 0) {
        self.bytes = bytes
        offset = start
        self.end = end
        self.base = base
    }

    var remaining: Int { end - offset }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else {
            throw FormatError.truncated(what: what, offset: base + offset, needed: n, available: remaining)
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// A u64 that must also fit an Int (files over 2^63 bytes are refused as overflow).
    mutating func u64(_ what: String) throws -> Int {
        try need(8, what)
        defer { offset += 8 }
        let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        guard v <= UInt64(Int.max) else { throw FormatError.limit(what: what, value: Int.max, limit: Int.max) }
        return Int(v)
    }

    mutating func slice(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(n, what)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }
}

/// Little-endian appends for the writer.
extension Array where Element == UInt8 {
    mutating func appendLE(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func appendLE(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func putLE(_ v: UInt64, at o: Int) { Swift.withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { self[o + i] = $0[i] } } }
    mutating func putLE(_ v: UInt32, at o: Int) { Swift.withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { self[o + i] = $0[i] } } }
}
