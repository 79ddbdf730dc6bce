extension Kernels {
    /// Multi-head self-attention over qkv [B,T,3D] (q, k, v blocks, each split into heads) → out [B,T,D].
    /// Per element: s[t,u] = (Σ_i fma q[t,i]·k[u,i], i ascending)·scale, p = softmaxRow(s),
    /// o[t,c] = Σ_u fma p[t,u]·v[u,c], u ascending. scale = 1/sqrt(D/heads).
    public static func attention(qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim d: Int, heads: Int,
                                 out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        let qp = UnsafeSendable(qkv), op = UnsafeSendable(UnsafePointer(out))
        pool.forEach(batch * heads) { task in
            let b = task / heads, h = task % heads
            let base = qp.p + b * t * 3 * d
            let kT = UnsafeMutablePointer<Float>.allocate(capacity: hd * t)
            let s = UnsafeMutablePointer<Float>.allocate(capacity: t)
            let o = UnsafeMutablePointer<Float>.allocate(capacity: hd)
            defer { kT.deallocate(); s.deallocate(); o.deallocate() }
            for u in 0..<t {
                for i in 0..<hd { kT[i * t + u] = base[u * 3 * d + d + h * hd + i] }
            }
            let outBase = UnsafeMutablePointer(mutating: op.p) + b * t * d + h * hd
            for q in 0..<t {
                let qrow = base + q * 3 * d + h * hd
                s.update(repeating: 0, count: t)
                for i in 0..<hd {
                    let qi = qrow[i], krow = kT + i * t
                    for u in 0..<t { s[u] = s[u].addingProduct(qi, krow[u]) }
                }
                for u in 0..<t { s[u] = s[u] * scale }
                softmaxRow(s, t)
                o.update(repeating: 0, count: hd)
                for u in 0..<t {
                    let pu = s[u], vrow = base + u * 3 * d + 2 * d + h * hd
                    for c in 0..<hd { o[c] = o[c].addingProduct(pu, vrow[c]) }
                }
                (outBase + q * d).update(from: o, count: hd)
            }
        }
    }
}
