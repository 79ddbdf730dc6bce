/// Constants of `schemas/vmoe-format-v1.md` (the source of truth; `FormatSpecTests` keeps them equal).
public enum FormatSpec {
    public static let magic: [UInt8] = [0x56, 0x4D, 0x4F, 0x45, 0x00, 0x0D, 0x0A, 0x1A]
    public static let version: UInt32 = 1
    public static let headerSize = 256
    public static let alignment = 64
    public static let trailerSize = 32
    public static let maxMetadataBytes = 16_777_216
    public static let maxGraphBytes = 67_108_864
    public static let maxTableBytes = 67_108_864
    public static let maxTensors = 1_000_000
    public static let maxRank = 8
    public static let maxNameBytes = 1024
    public static let maxNodes = 1_000_000
    public static let maxJSONDepth = 32

    /// Header field offsets.
    enum Field {
        static let version = 8, headerSize = 12, fileSize = 16, alignment = 24, tensorCount = 28
        static let sections = 32           // 4 × (u64 offset, u64 length)
        static let sectionHashes = 96      // 3 × 32 bytes: metadata, graph, table
        static let reserved = 192, reservedLength = 64
    }

    public static let goldenInputPrefix = "golden.input."
    public static let goldenOutputPrefix = "golden.output."
}

/// What a tensor in the file is for.
public enum TensorRole: UInt8, Sendable {
    case weight = 0
    case goldenInput = 1
    case goldenOutput = 2
}

/// Rounds `x` up to a multiple of `a`, or nil on overflow.
@inline(__always)
func alignUp(_ x: Int, _ a: Int) -> Int? {
    let (s, o) = x.addingReportingOverflow(a - 1)
    return o ? nil : s / a * a
}
