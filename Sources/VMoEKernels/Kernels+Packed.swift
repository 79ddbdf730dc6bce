extension Kernels {
    /// Elements of `w` [K,N] packed in 16-column panels: panel p holds rows 0..<K of columns
    /// 16p..<16p+16, contiguous per row, the last panel zero-padded.
    public static func packedCount(k: Int, n: Int) -> Int { (n + 15) / 16 * 16 * k }

    public static func pack(_ w: UnsafePointer<Float>, k: Int, n: Int, into out: UnsafeMutablePointer<Float>) {
        let panels = (n + 15) / 16
        for p in 0..<panels {
            let base = out + p * k * 16
            for r in 0..<k {
                for c in 0..<16 {
                    let j = p * 16 + c
                    base[r * 16 + c] = j < n ? w[r * n + j] : 0
                }
            }
        }
    }

    /// `linear` over packed weights: the same per-output sequence (acc = 0; fma over k ascending;
    /// + bias), so results are bit-identical to the unpacked kernel; loads are contiguous.
    public static func linearPacked(x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafePointer<Float>, n: Int,
                                    bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, pool: Parallel) {
        let mr = 6
        let rowTiles = (m + mr - 1) / mr, panels = (n + 15) / 16
        // Tasks: a panel group × a row block, sized so each thread gets several.
        let panelGroup = 4
        let colTasks = (panels + panelGroup - 1) / panelGroup
        let xp = UnsafeSendable(x), wp = UnsafeSendable(w), bp = bias.map(UnsafeSendable.init), op = UnsafeSendable(UnsafePointer(out))
        pool.forEach(rowTiles * colTasks) { task in
            let x = xp.p, w = wp.p, bias = bp?.p
            let out = UnsafeMutablePointer(mutating: op.p)
            let rt = task / colTasks, ct = task % colTasks
            let r0 = rt * mr, rows = min(mr, m - r0)
            var tmp = [Float](repeating: 0, count: mr * 16)
            for p in (ct * panelGroup)..<min(panels, (ct + 1) * panelGroup) {
                let panel = w + p * k * 16
                let c0 = p * 16, cols = min(16, n - c0)
                var bv = SIMD16<Float>(repeating: 0)
                if let b = bias { for c in 0..<cols { bv[c] = b[c0 + c] } }
                tmp.withUnsafeMutableBufferPointer { t in
                    let tp = t.baseAddress!
                    if rows == mr {
                        var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
                        let x0 = x + r0 * k
                        for kk in 0..<k {
                            let b = load16(panel + kk * 16)
                            a0 = a0.addingProduct(SIMD16(repeating: x0[kk]), b)
                            a1 = a1.addingProduct(SIMD16(repeating: x0[k + kk]), b)
                            a2 = a2.addingProduct(SIMD16(repeating: x0[2 * k + kk]), b)
                            a3 = a3.addingProduct(SIMD16(repeating: x0[3 * k + kk]), b)
                            a4 = a4.addingProduct(SIMD16(repeating: x0[4 * k + kk]), b)
                            a5 = a5.addingProduct(SIMD16(repeating: x0[5 * k + kk]), b)
                        }
                        store16(a0 + bv, tp); store16(a1 + bv, tp + 16); store16(a2 + bv, tp + 32)
                        store16(a3 + bv, tp + 48); store16(a4 + bv, tp + 64); store16(a5 + bv, tp + 80)
                    } else {
                        for r in 0..<rows {
                            var a = SIMD16<Float>(repeating: 0)
                            let xr = x + (r0 + r) * k
                            for kk in 0..<k { a = a.addingProduct(SIMD16(repeating: xr[kk]), load16(panel + kk * 16)) }
                            store16(a + bv, tp + r * 16)
                        }
                    }
                    for r in 0..<rows { (out + (r0 + r) * n + c0).update(from: tp + r * 16, count: cols) }
                }
            }
        }
    }
}
