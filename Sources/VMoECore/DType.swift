/// Element types a tensor can hold; raw values are the on-disk codes of `schemas/vmoe-format-v1.md`.
public enum DType: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case float32 = 1
    case float16 = 2
    case float64 = 3
    case int32 = 5
    case int64 = 6
    case int8 = 7
    case uint8 = 8
    /// Two signed 4-bit values per byte, low nibble first; an odd count leaves the last high nibble zero.
    case int4 = 9

    public var description: String { name }

    /// The spelling used in the IR text, JSON and error messages.
    public var name: String {
        switch self {
        case .float32: return "f32"
        case .float16: return "f16"
        case .float64: return "f64"
        case .int32: return "i32"
        case .int64: return "i64"
        case .int8: return "i8"
        case .uint8: return "u8"
        case .int4: return "i4"
        }
    }

    public init?(name: String) {
        guard let t = DType.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }

    public var isFloat: Bool { self == .float32 || self == .float16 || self == .float64 }

    /// Bytes needed for `count` elements, or nil on overflow.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0 else { return nil }
        switch self {
        case .int4:
            let (half, o) = count.addingReportingOverflow(1)
            return o ? nil : half / 2
        default:
            let (n, o) = count.multipliedReportingOverflow(by: elementSize)
            return o ? nil : n
        }
    }

    /// Size of one element in bytes (int4 reports 1: it is only meaningful through `byteCount`).
    public var elementSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16: return 2
        case .float64, .int64: return 8
        case .int8, .uint8, .int4: return 1
        }
    }
}

/// Element count of a shape, or nil if a dimension is negative or the product overflows.
public func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}
