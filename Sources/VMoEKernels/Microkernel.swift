// This file is compiled twice: into VMoEKernels (baseline AVX2 + FMA) and, through a symlink, into
// VMoEMicrokernelAVX512 (AVX-512). Both builds run the same per-output sequence — acc = 0, then
// acc = fma(x[k], w[k,n], acc) for k ascending — so which one a machine picks never changes a bit.

/// Register tiles of the GEMM over 16-column packed panels (see Kernels.pack).
public enum Microkernel {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }

    /// 6 rows × 16 columns: 12 ymm accumulators on AVX2. x rows are `k` apart; out rows 16 apart.
    public static func tile6(_ x: UnsafePointer<Float>, _ k: Int, _ panel: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
        for kk in 0..<k {
            let b = load(panel + kk * 16)
            a0 = a0.addingProduct(SIMD16(repeating: x[kk]), b)
            a1 = a1.addingProduct(SIMD16(repeating: x[k + kk]), b)
            a2 = a2.addingProduct(SIMD16(repeating: x[2 * k + kk]), b)
            a3 = a3.addingProduct(SIMD16(repeating: x[3 * k + kk]), b)
            a4 = a4.addingProduct(SIMD16(repeating: x[4 * k + kk]), b)
            a5 = a5.addingProduct(SIMD16(repeating: x[5 * k + kk]), b)
        }
        store(a0, out); store(a1, out + 16); store(a2, out + 32); store(a3, out + 48); store(a4, out + 64); store(a5, out + 80)
    }

    /// 12 rows × 16 columns: 12 zmm accumulators on AVX-512 (enough chains to cover the FMA latency).
    public static func tile12(_ x: UnsafePointer<Float>, _ k: Int, _ panel: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
        var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
        for kk in 0..<k {
            let b = load(panel + kk * 16)
            a0 = a0.addingProduct(SIMD16(repeating: x[kk]), b)
            a1 = a1.addingProduct(SIMD16(repeating: x[k + kk]), b)
            a2 = a2.addingProduct(SIMD16(repeating: x[2 * k + kk]), b)
            a3 = a3.addingProduct(SIMD16(repeating: x[3 * k + kk]), b)
            a4 = a4.addingProduct(SIMD16(repeating: x[4 * k + kk]), b)
            a5 = a5.addingProduct(SIMD16(repeating: x[5 * k + kk]), b)
            a6 = a6.addingProduct(SIMD16(repeating: x[6 * k + kk]), b)
            a7 = a7.addingProduct(SIMD16(repeating: x[7 * k + kk]), b)
            a8 = a8.addingProduct(SIMD16(repeating: x[8 * k + kk]), b)
            a9 = a9.addingProduct(SIMD16(repeating: x[9 * k + kk]), b)
            a10 = a10.addingProduct(SIMD16(repeating: x[10 * k + kk]), b)
            a11 = a11.addingProduct(SIMD16(repeating: x[11 * k + kk]), b)
        }
        store(a0, out); store(a1, out + 16); store(a2, out + 32); store(a3, out + 48); store(a4, out + 64); store(a5, out + 80)
        store(a6, out + 96); store(a7, out + 112); store(a8, out + 128); store(a9, out + 144); store(a10, out + 160); store(a11, out + 176)
    }

    /// One row × 16 columns (row tails).
    public static func tile1(_ x: UnsafePointer<Float>, _ k: Int, _ panel: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        var a = SIMD16<Float>(repeating: 0)
        for kk in 0..<k { a = a.addingProduct(SIMD16(repeating: x[kk]), load(panel + kk * 16)) }
        store(a, out)
    }
}
