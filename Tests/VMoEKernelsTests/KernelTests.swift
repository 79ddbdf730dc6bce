import Foundation
import XCTest
@testable import VMoEKernels

/// Kernels must give the same bits for every thread count, and agree with a double-precision reference.
final class KernelTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2000 - 1000) / 500
        }
    }

    func linear(_ x: [Float], _ w: [Float], _ b: [Float], m: Int, k: Int, n: Int, threads: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        out.withUnsafeMutableBufferPointer { o in
            Kernels.linear(x: x, m: m, k: k, w: w, n: n, bias: b, out: o.baseAddress!, pool: Parallel(threads: threads))
        }
        return out
    }

    func testLinearMatchesSpecAndIsThreadInvariant() {
        for (m, k, n) in [(1, 1, 1), (7, 13, 17), (13, 64, 100), (6, 32, 16), (65, 48, 64)] {
            let x = random(m * k, seed: 1), w = random(k * n, seed: 2), b = random(n, seed: 3)
            let one = linear(x, w, b, m: m, k: k, n: n, threads: 1)
            // The spec's sequence, written out as scalar code.
            for i in 0..<m { for j in 0..<n {
                var acc: Float = 0
                for kk in 0..<k { acc = acc.addingProduct(x[i * k + kk], w[kk * n + j]) }
                XCTAssertEqual(one[i * n + j].bitPattern, (acc + b[j]).bitPattern, "m\(m) k\(k) n\(n) at \(i),\(j)")
            } }
            for t in [2, 3, 8] { XCTAssertEqual(linear(x, w, b, m: m, k: k, n: n, threads: t), one, "threads \(t)") }
            // Packed panels: the same bits.
            var packedW = [Float](repeating: 0, count: Kernels.packedCount(k: k, n: n))
            packedW.withUnsafeMutableBufferPointer { Kernels.pack(w, k: k, n: n, into: $0.baseAddress!) }
            for t in [1, 3] { for isa in [Kernels.ISA.avx2, .avx512] where isa == .avx2 || Kernels.isa == .avx512 {
                var out = [Float](repeating: 0, count: m * n)
                out.withUnsafeMutableBufferPointer { o in
                    Kernels.linearPacked(x: x, m: m, k: k, w: packedW, n: n, bias: b, out: o.baseAddress!, pool: Parallel(threads: t), isa: isa)
                }
                XCTAssertEqual(out.map(\.bitPattern), one.map(\.bitPattern), "packed \(isa), m\(m) k\(k) n\(n), \(t) threads")
            } }
        }
    }

    func testAttentionAndLayerNormThreadInvariant() {
        let b = 3, t = 11, d = 24, heads = 3
        let qkv = random(b * t * 3 * d, seed: 4)
        func attn(_ threads: Int) -> [Float] {
            var out = [Float](repeating: 0, count: b * t * d)
            out.withUnsafeMutableBufferPointer { Kernels.attention(qkv: qkv, batch: b, tokens: t, dim: d, heads: heads, scale: 1 / Float(d / heads).squareRoot(), out: $0.baseAddress!, pool: Parallel(threads: threads)) }
            return out
        }
        let a1 = attn(1)
        XCTAssertEqual(attn(2), a1)
        XCTAssertEqual(attn(7), a1)
        // Against a double-precision reference.
        let hd = d / heads
        for bi in 0..<b { for h in 0..<heads { for q in 0..<t {
            var s = [Double](repeating: 0, count: t)
            for u in 0..<t { for i in 0..<hd { s[u] += Double(qkv[(bi * t + q) * 3 * d + h * hd + i]) * Double(qkv[(bi * t + u) * 3 * d + d + h * hd + i]) } }
            let mx = s.map { $0 / Double(hd).squareRoot() }.max()!
            let e = s.map { Foundation.exp($0 / Double(hd).squareRoot() - mx) }
            let z = e.reduce(0, +)
            for c in 0..<hd {
                var o = 0.0
                for u in 0..<t { o += e[u] / z * Double(qkv[(bi * t + u) * 3 * d + 2 * d + h * hd + c]) }
                XCTAssertEqual(Double(a1[(bi * t + q) * d + h * hd + c]), o, accuracy: 1e-5)
            }
        } } }

        let x = random(9 * 40, seed: 5), g = random(40, seed: 6), be = random(40, seed: 7)
        func ln(_ threads: Int) -> [Float] {
            var out = [Float](repeating: 0, count: x.count)
            out.withUnsafeMutableBufferPointer { Kernels.layerNorm(x: x, rows: 9, d: 40, gamma: g, beta: be, eps: 1e-6, out: $0.baseAddress!, pool: Parallel(threads: threads)) }
            return out
        }
        XCTAssertEqual(ln(1), ln(4))
    }
}
