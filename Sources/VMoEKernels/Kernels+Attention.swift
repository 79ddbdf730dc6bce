extension Kernels {
    /// Multi-head self-attention over qkv [B,T,3D] (q, k, v blocks, each split into heads) → out [B,T,D].
    /// Per element: s[t,u] = (Σ_i fma q[t,i]·k[u,i], i ascending from 0)·scale, p = softmaxRow(s),
    /// o[t,c] = Σ_u fma p[t,u]·v[u,c], u ascending from 0. Both sums are the GEMM microkernel's own
    /// sequence, so they run through it (Q·Kᵀ, then P·V) with packed Kᵀ and V panels.
    public static func attention(qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim d: Int, heads: Int, scale: Float,
                                 out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let hd = d / heads, heads_ = batch * heads
        let kSize = packedCount(k: hd, n: t), vSize = packedCount(k: t, n: hd)
        // Phase 1: Kᵀ and V panels of every (image, head), once.
        let panels = Scratch.take(heads_ * (kSize + vSize))
        defer { Scratch.give(panels, heads_ * (kSize + vSize)) }
        let qp = UnsafeSendable(qkv), pp = UnsafeSendable(UnsafePointer(panels)), op = UnsafeSendable(UnsafePointer(out))
        pool.forEach(heads_) { bh in
            packHead(qp.p + (bh / heads) * t * 3 * d, t: t, d: d, h: bh % heads, hd: hd,
                     k: UnsafeMutablePointer(mutating: pp.p) + bh * (kSize + vSize), v: UnsafeMutablePointer(mutating: pp.p) + bh * (kSize + vSize) + kSize)
        }
        // Phase 2: (image, head, block of 64 queries), so a batch of one still spreads over threads.
        let qBlocks = pool.threads > 1 ? (t + 63) / 64 : 1
        pool.forEach(heads_ * qBlocks) { task in
            let qb = task % qBlocks, bh = task / qBlocks
            let q0 = qBlocks == 1 ? 0 : qb * 64, q1 = qBlocks == 1 ? t : min(t, q0 + 64)
            let kp = pp.p + bh * (kSize + vSize)
            attentionQueries(qp.p + (bh / heads) * t * 3 * d, t: t, d: d, h: bh % heads, hd: hd, scale: scale, k: kp, v: kp + kSize,
                             queries: q0..<q1, out: UnsafeMutablePointer(mutating: op.p) + (bh / heads) * t * d + (bh % heads) * hd)
        }
    }

    /// Packs head h's Kᵀ [hd, T] and V [T, hd] into 16-column panels.
    static func packHead(_ base: UnsafePointer<Float>, t: Int, d: Int, h: Int, hd: Int, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        let kT = UnsafeMutablePointer<Float>.allocate(capacity: hd * t)
        let vr = UnsafeMutablePointer<Float>.allocate(capacity: t * hd)
        defer { kT.deallocate(); vr.deallocate() }
        for u in 0..<t {
            let row = base + u * 3 * d + h * hd
            for i in 0..<hd { kT[i * t + u] = row[d + i] }
            (vr + u * hd).update(from: row + 2 * d, count: hd)
        }
        pack(kT, k: hd, n: t, into: k)
        pack(vr, k: t, n: hd, into: v)
    }

    /// A block of queries of one (image, head) as two single-threaded packed GEMMs around a row softmax.
    static func attentionQueries(_ base: UnsafePointer<Float>, t: Int, d: Int, h: Int, hd: Int, scale: Float,
                                 k kp: UnsafePointer<Float>, v vp: UnsafePointer<Float>, queries: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let nq = queries.count, single = Parallel(threads: 1)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: nq * hd)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: nq * t)
        let o = UnsafeMutablePointer<Float>.allocate(capacity: nq * hd)
        defer { q.deallocate(); s.deallocate(); o.deallocate() }
        for (r, qi) in queries.enumerated() { (q + r * hd).update(from: base + qi * 3 * d + h * hd, count: hd) }
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
