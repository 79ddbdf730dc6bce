import Foundation

/// Reads and writes NumPy `.npy` files (format versions 1.0, 2.0 and 3.0; little-endian, C order).
public enum NPY {
    /// Why a `.npy` file was refused.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case notNPY(path: String)
        case unsupportedVersion(path: String, major: UInt8)
        case badHeader(path: String, reason: String)
        case unsupportedDType(path: String, descr: String)
        case fortranOrder(path: String)
        case sizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)

        public var description: String {
            switch self {
            case let .unreadable(p, r): return "\(p): cannot read: \(r)"
            case let .notNPY(p): return "\(p): not a .npy file (missing \\x93NUMPY magic)"
            case let .unsupportedVersion(p, m): return "\(p): .npy format version \(m) is not supported (expected 1, 2 or 3)"
            case let .badHeader(p, r): return "\(p): malformed .npy header: \(r)"
            case let .unsupportedDType(p, d): return "\(p): dtype '\(d)' is not supported (expected '<f4' float32)"
            case let .fortranOrder(p): return "\(p): Fortran-order arrays are not supported (expected C order)"
            case let .sizeMismatch(p, e, a): return "\(p): header promises \(e) data bytes but the file holds \(a)"
            }
        }
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Parses a float32 array; `path` is only used in error messages.
    public static func decode(_ bytes: [UInt8], path: String) throws -> Tensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw Error.notNPY(path: path) }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw Error.badHeader(path: path, reason: "truncated header length") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw Error.unsupportedVersion(path: path, major: major)
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
            throw Error.badHeader(path: path, reason: "header length \(headerLength) exceeds the file")
        }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw Error.badHeader(path: path, reason: "header is not text")
        }
        let descr = try field(header, "descr", path: path)
        let fortran = try field(header, "fortran_order", path: path)
        let shapeText = try field(header, "shape", path: path)
        let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard d == "<f4" || d == "float32" else { throw Error.unsupportedDType(path: path, descr: d) }
        guard fortran.trimmingCharacters(in: .whitespaces) == "False" else { throw Error.fortranOrder(path: path) }
        let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        var shape = [Int]()
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw Error.badHeader(path: path, reason: "bad shape '\(shapeText)'") }
            shape.append(v)
        }
        guard let n = elementCount(shape), let nb = DType.float32.byteCount(elements: n) else {
            throw Error.badHeader(path: path, reason: "shape \(shape) overflows")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == nb else {
            throw Error.sizeMismatch(path: path, expectedBytes: nb, actualBytes: bytes.count - dataStart)
        }
        let storage = bytes.withUnsafeBytes { ByteStorage(copying: UnsafeRawBufferPointer(rebasing: $0[dataStart...])) }
        return Tensor(dtype: .float32, shape: shape, storage: storage)
    }

    /// Extracts the text of `key`'s value from the header dict; shapes are tuples, so parentheses nest.
    private static func field(_ header: String, _ key: String, path: String) throws -> String {
        let chars = Array(header)
        guard let r = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else {
            throw Error.badHeader(path: path, reason: "missing '\(key)'")
        }
        var i = header.distance(from: header.startIndex, to: r.upperBound)
        while i < chars.count, chars[i] == " " || chars[i] == ":" { i += 1 }
        var depth = 0
        var out = ""
        while i < chars.count {
            let c = chars[i]
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if depth == 0, c == "," || c == "}" { break }
            out.append(c)
            i += 1
        }
        if depth != 0 { throw Error.badHeader(path: path, reason: "unbalanced parentheses in '\(key)'") }
        return out
    }

    public static func read(path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Error.unreadable(path: path, reason: "no such file or not readable")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Encodes a float32 tensor as `.npy` version 1.0.
    public static func encode(_ t: Tensor) -> [UInt8] {
        let shapeText = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = magic + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        let values = t.floatValues()
        values.withUnsafeBytes { out += $0 }
        return out
    }

    public static func write(_ t: Tensor, path: String) throws {
        try AtomicFile.write(encode(t), to: path)
    }
}
