/// The reference kernels. Each output element's arithmetic is fixed by the spec, independent of
/// vector width and threading: vectors run across independent outputs, never along a reduction.
public enum Kernels {
    /// out[m,n] = (Σ_k fma-accumulated x[m,k]·w[k,n], k ascending from 0) + bias[n], for an unpacked
    /// [K,N] weight (generic matmul, the router): packs it, then runs the one microkernel.
    public static func linear(x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafePointer<Float>, n: Int,
                              bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let packed = Scratch.take(packedCount(k: k, n: n))
        defer { Scratch.give(packed, packedCount(k: k, n: n)) }
        pack(w, k: k, n: n, into: packed)
        linearPacked(x: x, m: m, k: k, w: packed, n: n, bias: bias, out: out, pool: pool)
    }

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

    @inline(__always)
    static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }

    /// Row-wise LayerNorm over the last axis of width d: mean = sum8/d, var = sumSq8/d,
    /// y = fma((x - mean)·rstd, γ, β) with rstd = 1/sqrt(var + eps).
    public static func layerNorm(x: UnsafePointer<Float>, rows: Int, d: Int, gamma: UnsafePointer<Float>,
                                 beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let xp = UnsafeSendable(x), gp = UnsafeSendable(gamma), bp = UnsafeSendable(beta), op = UnsafeSendable(UnsafePointer(out))
        pool.forEach(rows) { r in
            let row = xp.p + r * d, o = UnsafeMutablePointer(mutating: op.p) + r * d
            let mean = DetMath.sum8(row, d) / Float(d)
            let v = DetMath.sumSquaredDeviation8(row, d, mean) / Float(d)
            let rstd = 1 / (v + eps).squareRoot()
            for i in 0..<d { o[i] = bp.p[i].addingProduct((row[i] - mean) * rstd, gp.p[i]) }
        }
    }

    /// In-place softmax of each row: m = max, e_i = exp(x_i − m), s = sum8(e), y_i = e_i / s.
    /// (Max and division are exact per element, so vectorising them changes no bit.)
    public static func softmaxRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var mv = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n { mv = pointwiseMax(mv, UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)); i += 8 }
        var m = mv.max()
        while i < n { if p[i] > m { m = p[i] }; i += 1 }
        DetMath.expShiftedInPlace(p, n, m)
        let s = DetMath.sum8(UnsafePointer(p), n)
        let sv = SIMD8<Float>(repeating: s)
        i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) / sv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { p[i] = p[i] / s; i += 1 }
    }

    /// Element-wise exact GELU.
    public static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int, pool: Parallel) {
        let chunk = 4096
        let pp = UnsafeSendable(UnsafePointer(p))
        pool.forEach((count + chunk - 1) / chunk) { c in
            let q = UnsafeMutablePointer(mutating: pp.p)
            DetMath.geluInPlace(q + c * chunk, min(count, (c + 1) * chunk) - c * chunk)
        }
    }
}

extension Kernels {
    /// w = Float(q) × Float(scale[channel]) for i8 [lead…, K, N] with f16 scales [lead…, N].
    public static func dequantizeInt8(q: UnsafeRawPointer, scale: UnsafeRawPointer, lead: Int, k: Int, n: Int,
                                      out: UnsafeMutablePointer<Float>) {
        let qi = q.assumingMemoryBound(to: Int8.self)
        let s16 = scale.assumingMemoryBound(to: UInt16.self)
        for e in 0..<lead { for r in 0..<k { for c in 0..<n {
            let i = (e * k + r) * n + c
            out[i] = Float(qi[i]) * Float(Float16(bitPattern: s16[e * n + c]))
        } } }
    }

    /// w = Float(q) × Float(scale[group, channel]) for packed i4 [lead…, K, N] with f16 scales [lead…, K/g, N].
    public static func dequantizeInt4(q: UnsafeRawPointer, scale: UnsafeRawPointer, lead: Int, k: Int, n: Int, group: Int,
                                      out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawBufferPointer(start: q, count: (lead * k * n + 1) / 2)
        let s16 = scale.assumingMemoryBound(to: UInt16.self)
        let groups = k / group
        for e in 0..<lead { for r in 0..<k { for c in 0..<n {
            let i = (e * k + r) * n + c
            let s = Float(Float16(bitPattern: s16[(e * groups + r / group) * n + c]))
            let b = raw[i >> 1]
            let nib = (i & 1) == 0 ? (b & 0x0F) : (b >> 4)
            out[i] = Float(Int8(bitPattern: nib << 4) >> 4) * s
        } } }
    }
}

/// Carries a pointer into `@Sendable` closures; the kernels guarantee disjoint writes.
struct UnsafeSendable<T>: @unchecked Sendable {
    let p: UnsafePointer<T>
    init(_ p: UnsafePointer<T>) { self.p = p }
}
