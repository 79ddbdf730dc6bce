extension Kernels {
    /// Multi-head self-attention over qkv [B,T,3D] (q, k, v blocks, each split into heads) → out [B,T,D].
    /// Per element: s[t,u] = (Σ_i fma q[t,i]·k[u,i], i ascending)·scale, p = softmaxRow(s),
    /// o[t,c] = Σ_u fma p[t,u]·v[u,c], u ascending. `scale` is the op's attribute. Accumulators stay in
    /// registers across the reduction; vectors run over u (scores) and c (outputs), never along it.
    public static func attention(qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim d: Int, heads: Int, scale: Float,
                                 out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let hd = d / heads
        let tp = (t + 15) / 16 * 16          // kT rows padded to whole vectors
        let hp = (hd + 15) / 16 * 16
        let qp = UnsafeSendable(qkv), op = UnsafeSendable(UnsafePointer(out))
        // Tasks are (image, head, block of 64 queries), so a batch of one still spreads over threads.
        let qBlocks = pool.threads > 1 ? (t + 63) / 64 : 1
        pool.forEach(batch * heads * qBlocks) { task in
            let qb = task % qBlocks, bh = task / qBlocks
            let q0 = qBlocks == 1 ? 0 : qb * 64, q1 = qBlocks == 1 ? t : min(t, q0 + 64)
            attentionHead(qp.p + (bh / heads) * t * 3 * d, t: t, d: d, h: bh % heads, hd: hd, tp: tp, hp: hp, scale: scale,
                          queries: q0..<q1, out: UnsafeMutablePointer(mutating: op.p) + (bh / heads) * t * d + (bh % heads) * hd)
        }
    }

    /// One (image, head): a plain function rather than closure code, so the SIMD loads inline.
    static func attentionHead(_ base: UnsafePointer<Float>, t: Int, d: Int, h: Int, hd: Int, tp: Int, hp: Int, scale: Float,
                              queries: Range<Int>, out outBase: UnsafeMutablePointer<Float>) {
        let kT = UnsafeMutablePointer<Float>.allocate(capacity: hd * tp)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: t * hp)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: tp)
        let o = UnsafeMutablePointer<Float>.allocate(capacity: hp)
        defer { kT.deallocate(); v.deallocate(); s.deallocate(); o.deallocate() }
        kT.initialize(repeating: 0, count: hd * tp)
        v.initialize(repeating: 0, count: t * hp)
        // kᵀ in blocks of 64 key columns ([block][i][64]), so the score loop reads sequentially.
        for u in 0..<t {
            let blk = u / 64, col = u % 64, width = min(64, tp - blk * 64)
            for i in 0..<hd {
                kT[blk * 64 * hd + i * width + col] = base[u * 3 * d + d + h * hd + i]
                v[u * hp + i] = base[u * 3 * d + 2 * d + h * hd + i]
            }
        }
        for q in queries {
            let qrow = base + q * 3 * d + h * hd
            // Four independent accumulator chains (64 scores) hide the FMA latency; each score is
            // still Σ_i in ascending i.
            var u0 = 0
            while u0 < tp {
                let chains = min(4, (tp - u0) / 16)
                var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                let width = min(64, tp - u0)                 // columns in this kᵀ block
                let kb = kT + u0 * hd
                if chains == 4 {
                    for i in 0..<hd {
                        let qi = SIMD16<Float>(repeating: qrow[i]), row = kb + i * width
                        a0 = a0.addingProduct(qi, UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Float>.self)); a1 = a1.addingProduct(qi, UnsafeRawPointer(row + 16).loadUnaligned(as: SIMD16<Float>.self))
                        a2 = a2.addingProduct(qi, UnsafeRawPointer(row + 32).loadUnaligned(as: SIMD16<Float>.self)); a3 = a3.addingProduct(qi, UnsafeRawPointer(row + 48).loadUnaligned(as: SIMD16<Float>.self))
                    }
                    UnsafeMutableRawPointer(s + u0).storeBytes(of: a0 * scale, as: SIMD16<Float>.self); UnsafeMutableRawPointer(s + u0 + 16).storeBytes(of: a1 * scale, as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(s + u0 + 32).storeBytes(of: a2 * scale, as: SIMD16<Float>.self); UnsafeMutableRawPointer(s + u0 + 48).storeBytes(of: a3 * scale, as: SIMD16<Float>.self)
                } else {
                    // A block narrower than 64 columns: one 16-column chain at a time.
                    var c = 0
                    while c < width {
                        var a = SIMD16<Float>(repeating: 0)
                        for i in 0..<hd { a = a.addingProduct(SIMD16(repeating: qrow[i]), UnsafeRawPointer(kb + i * width + c).loadUnaligned(as: SIMD16<Float>.self)) }
                        UnsafeMutableRawPointer(s + u0 + c).storeBytes(of: a * scale, as: SIMD16<Float>.self)
                        c += 16
                    }
                    u0 += width
                    continue
                }
                u0 += 64
            }
            softmaxRow(s, t)
            var c0 = 0
            while c0 < hp {
                var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                let vb = v + c0
                if hp - c0 >= 64 {
                    for u in 0..<t {
                        let pu = SIMD16<Float>(repeating: s[u]), row = vb + u * hp
                        a0 = a0.addingProduct(pu, UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Float>.self)); a1 = a1.addingProduct(pu, UnsafeRawPointer(row + 16).loadUnaligned(as: SIMD16<Float>.self))
                        a2 = a2.addingProduct(pu, UnsafeRawPointer(row + 32).loadUnaligned(as: SIMD16<Float>.self)); a3 = a3.addingProduct(pu, UnsafeRawPointer(row + 48).loadUnaligned(as: SIMD16<Float>.self))
                    }
                    UnsafeMutableRawPointer(o + c0).storeBytes(of: a0, as: SIMD16<Float>.self); UnsafeMutableRawPointer(o + c0 + 16).storeBytes(of: a1, as: SIMD16<Float>.self); UnsafeMutableRawPointer(o + c0 + 32).storeBytes(of: a2, as: SIMD16<Float>.self); UnsafeMutableRawPointer(o + c0 + 48).storeBytes(of: a3, as: SIMD16<Float>.self)
                    c0 += 64
                } else {
                    for u in 0..<t { a0 = a0.addingProduct(SIMD16(repeating: s[u]), UnsafeRawPointer(vb + u * hp).loadUnaligned(as: SIMD16<Float>.self)) }
                    UnsafeMutableRawPointer(o + c0).storeBytes(of: a0, as: SIMD16<Float>.self)
                    c0 += 16
                }
            }
            (outBase + q * d).update(from: o, count: hd)
        }
    }
}
