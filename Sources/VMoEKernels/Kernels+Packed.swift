import Foundation
import VMoEMicrokernelAVX512

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

    /// out rows (stride apart) = tile rows + bias, per element one IEEE add (vectorised for full panels).
    static func epilogue(_ t: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>?,
                         out: UnsafeMutablePointer<Float>, stride: Int) {
        if cols == 16 {
            if let b = bias {
                let bv = Microkernel.load(b)
                for r in 0..<rows { Microkernel.store(Microkernel.load(t + r * 16) + bv, out + r * stride) }
            } else {
                for r in 0..<rows { Microkernel.store(Microkernel.load(t + r * 16), out + r * stride) }
            }
            return
        }
        for r in 0..<rows {
            let o = out + r * stride, tr = t + r * 16
            if let b = bias { for c in 0..<cols { o[c] = tr[c] + b[c] } } else { for c in 0..<cols { o[c] = tr[c] } }
        }
    }

    /// Instruction sets with a microkernel build.
    public enum ISA: String, Sendable { case avx2, avx512 }

    /// The microkernel this machine runs: AVX-512 where /proc/cpuinfo lists avx512f, else the AVX2
    /// baseline. `VMOE_ISA=avx2` forces the baseline (results are identical either way).
    public static let isa: ISA = {
        if let forced = ProcessInfo.processInfo.environment["VMOE_ISA"], let i = ISA(rawValue: forced) { return i }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return .avx2 }
        return flags.split(separator: " ").contains("avx512f") ? .avx512 : .avx2
    }()

    /// `linear` over packed weights: each output is acc = 0; fma over k ascending; + bias — the same
    /// sequence as the spec, whatever the ISA, tile or thread split.
    public static func linearPacked(x: UnsafePointer<Float>, m: Int, k: Int, w: UnsafePointer<Float>, n: Int,
                                    bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, pool: Parallel, isa: ISA = Kernels.isa) {
        let mr = isa == .avx512 ? 12 : 6
        let rowTiles = (m + mr - 1) / mr, panels = (n + 15) / 16
        let panelGroup = 4
        let colTasks = (panels + panelGroup - 1) / panelGroup
        let xp = UnsafeSendable(x), wp = UnsafeSendable(w), bp = bias.map(UnsafeSendable.init), op = UnsafeSendable(UnsafePointer(out))
        pool.forEach(rowTiles * colTasks) { task in
            let x = xp.p, w = wp.p, bias = bp?.p
            let out = UnsafeMutablePointer(mutating: op.p)
            let rt = task / colTasks, ct = task % colTasks
            let r0 = rt * mr, rows = min(mr, m - r0)
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: 12 * 16)
            defer { tmp.deallocate() }
            for p in (ct * panelGroup)..<min(panels, (ct + 1) * panelGroup) {
                let panel = w + p * k * 16
                let c0 = p * 16, cols = min(16, n - c0)
                if rows == mr {
                    if isa == .avx512 { VMoEMicrokernelAVX512.Microkernel.tile12(x + r0 * k, k, panel, tmp) }
                    else { Microkernel.tile6(x + r0 * k, k, panel, tmp) }
                } else {
                    for r in 0..<rows {
                        if isa == .avx512 { VMoEMicrokernelAVX512.Microkernel.tile1(x + (r0 + r) * k, k, panel, tmp + r * 16) }
                        else { Microkernel.tile1(x + (r0 + r) * k, k, panel, tmp + r * 16) }
                    }
                }
                Kernels.epilogue(tmp, rows: rows, cols: cols, bias: bias.map { $0 + c0 }, out: out + r0 * n + c0, stride: n)
            }
        }
    }
}
