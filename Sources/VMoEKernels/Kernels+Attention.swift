extension Kernels {
    /// Multi-head self-attention over qkv [B,T,3D] (q, k, v blocks, each split into heads) → out [B,T,D].
    /// Per element: s[t,u] = (Σ_i fma q[t,i]·k[u,i], i ascending from 0)·scale, p = softmaxRow(s),
    /// o[t,c] = Σ_u fma p[t,u]·v[u,c], u ascending from 0. Both sums are the GEMM microkernel's own
    /// sequence, so they run through it (Q·Kᵀ, then P·V) with packed Kᵀ and V panels.
    public static func attention(qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim d: Int, heads: Int, scale: Float,
                                 out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let hd = d / heads
        let qp = UnsafeSendable(qkv), op = UnsafeSendable(UnsafePointer(out))
        // Tasks are (image, head, block of 64 queries), so a batch of one still spreads over threads.
        let qBlocks = pool.threads > 1 ? (t + 63) / 64 : 1
        pool.forEach(batch * heads * qBlocks) { task in
            let qb = task % qBlocks, bh = task / qBlocks
            let q0 = qBlocks == 1 ? 0 : qb * 64, q1 = qBlocks == 1 ? t : min(t, q0 + 64)
            attentionHead(qp.p + (bh / heads) * t * 3 * d, t: t, d: d, h: bh % heads, hd: hd, scale: scale,
                          queries: q0..<q1, out: UnsafeMutablePointer(mutating: op.p) + (bh / heads) * t * d + (bh % heads) * hd)
        }
    }

    /// One (image, head, query block) as two single-threaded packed GEMMs around a row softmax.
    static func attentionHead(_ base: UnsafePointer<Float>, t: Int, d: Int, h: Int, hd: Int, scale: Float,
                              queries: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let nq = queries.count, single = Parallel(threads: 1)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: nq * hd)
        let kT = UnsafeMutablePointer<Float>.allocate(capacity: hd * t)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: t * hd)
        let kp = UnsafeMutablePointer<Float>.allocate(capacity: packedCount(k: hd, n: t))
        let vp = UnsafeMutablePointer<Float>.allocate(capacity: packedCount(k: t, n: hd))
        let s = UnsafeMutablePointer<Float>.allocate(capacity: nq * t)
        let o = UnsafeMutablePointer<Float>.allocate(capacity: nq * hd)
        defer { for p in [q, kT, v, kp, vp, s, o] { p.deallocate() } }
        for (r, qi) in queries.enumerated() { (q + r * hd).update(from: base + qi * 3 * d + h * hd, count: hd) }
        for u in 0..<t {
            let row = base + u * 3 * d + h * hd
            for i in 0..<hd { kT[i * t + u] = row[d + i] }
            (v + u * hd).update(from: row + 2 * d, count: hd)
        }
        pack(kT, k: hd, n: t, into: kp)
        pack(v, k: t, n: hd, into: vp)
        linearPacked(x: q, m: nq, k: hd, w: kp, n: t, bias: nil, out: s, pool: single)
        let sv = SIMD8<Float>(repeating: scale)
        var i = 0
        let total = nq * t
        while i + 8 <= total {
            let raw = UnsafeMutableRawPointer(s + i)
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) * sv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < total { s[i] = s[i] * scale; i += 1 }
        for r in 0..<nq { softmaxRow(s + r * t, t) }
        linearPacked(x: s, m: nq, k: t, w: vp, n: hd, bias: nil, out: o, pool: single)
        for (r, qi) in queries.enumerated() { (out + qi * d).update(from: o + r * hd, count: hd) }
    }
}
