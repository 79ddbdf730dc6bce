/// A named-free, typed, shaped block of little-endian element data.
public struct Tensor: @unchecked Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var storage: ByteStorage

    public init(dtype: DType, shape: [Int], storage: ByteStorage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A float32 tensor holding `values` (the caller guarantees `values.count` matches `shape`).
    public init(floats values: [Float], shape: [Int]) {
        let storage = values.withUnsafeBytes { ByteStorage(copying: $0) }
        self.init(dtype: .float32, shape: shape, storage: storage)
    }

    public var elementCount: Int { VMoECore.elementCount(shape) ?? 0 }
    public var byteCount: Int { storage.count }

    /// The values as Float, converting f16/f64 (round to nearest even) and integer types exactly.
    /// int4 is returned as its signed integer values (dequantization needs the scales: see the runtime).
    public func floatValues() -> [Float] {
        let n = elementCount
        let raw = storage.buffer
        var out = [Float](repeating: 0, count: n)
        switch dtype {
        case .float32:
            out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<n * 4])) }
        case .float16:
            for i in 0..<n { out[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .float64:
            for i in 0..<n { out[i] = Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .int32:
            for i in 0..<n { out[i] = Float(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .int64:
            for i in 0..<n { out[i] = Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .int8:
            for i in 0..<n { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8:
            for i in 0..<n { out[i] = Float(raw[i]) }
        case .int4:
            for i in 0..<n { out[i] = Float(Tensor.int4(raw, i)) }
        }
        return out
    }

    /// The signed 4-bit value at element `i` of packed int4 data.
    @inline(__always)
    public static func int4(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Int8 {
        let b = raw[i >> 1]
        let nib = (i & 1) == 0 ? (b & 0x0F) : (b >> 4)
        return Int8(bitPattern: nib << 4) >> 4
    }

    /// True if both tensors have the same dtype, shape and bytes.
    public func bitwiseEqual(_ other: Tensor) -> Bool {
        dtype == other.dtype && shape == other.shape && storage.buffer.elementsEqual(other.storage.buffer)
    }
}

extension Tensor {
    /// `values` stored as `dtype` (f16 rounds to nearest even; f64 is exact; other types keep f32).
    public init(converting values: [Float], shape: [Int], to dtype: DType) {
        switch dtype {
        case .float16:
            let s = ByteStorage(count: values.count * 2) { o in
                for (i, x) in values.enumerated() { o.storeBytes(of: Float16(x).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
            }
            self.init(dtype: .float16, shape: shape, storage: s)
        case .float64:
            let s = ByteStorage(count: values.count * 8) { o in
                for (i, x) in values.enumerated() { o.storeBytes(of: Double(x), toByteOffset: 8 * i, as: Double.self) }
            }
            self.init(dtype: .float64, shape: shape, storage: s)
        default:
            self.init(floats: values, shape: shape)
        }
    }
}
