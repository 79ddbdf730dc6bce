import VMoECore

/// Seeded, platform-independent golden images: SplitMix64 integers turned into floats with exact
/// integer-to-float steps, then a 4-term Irwin–Hall sum (mean 0, variance 1).
public enum GoldenInputs {
    public static func make(count: Int, channels: Int, size: Int, seed: UInt64) -> Tensor {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let n = count * channels * size * size
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for _ in 0..<4 { s += Float(next() >> 40) * 0x1p-24 }
            values[i] = (s - 2) * 1.7320508
        }
        return Tensor(floats: values, shape: [count, channels, size, size])
    }
}
