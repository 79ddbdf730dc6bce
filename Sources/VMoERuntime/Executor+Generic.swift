import VMoECore
import VMoEIR
import VMoEKernels

/// The generic ops of imported graphs. Slow, general loops: their job is to be exact and deterministic;
/// recognised patterns run through the model-level kernels instead.
extension Executor {
    typealias In = (p: UnsafePointer<Float>, count: Int, shape: [Int])

    static func strides(_ s: [Int]) -> [Int] {
        var st = [Int](repeating: 1, count: s.count)
        var acc = 1
        for i in s.indices.reversed() { st[i] = acc; acc *= s[i] }
        return st
    }

    /// Strides of `inShape` seen through `outShape` (right-aligned; broadcast axes get stride 0).
    static func broadcastStrides(_ inShape: [Int], to outShape: [Int]) -> [Int] {
        let st = strides(inShape)
        let off = outShape.count - inShape.count
        return outShape.indices.map { i in
            let j = i - off
            return j < 0 || inShape[j] == 1 ? 0 : st[j]
        }
    }

    /// Calls body(outIndex, offsets) for every output element in row-major order.
    static func forEachBroadcast(_ outShape: [Int], _ ins: [[Int]], _ body: (Int, [Int]) -> Void) {
        let total = outShape.reduce(1, *)
        guard total > 0 else { return }
        let st = ins.map { broadcastStrides($0, to: outShape) }
        var idx = [Int](repeating: 0, count: outShape.count)
        var offs = [Int](repeating: 0, count: ins.count)
        for o in 0..<total {
            body(o, offs)
            var ax = outShape.count - 1
            while ax >= 0 {
                idx[ax] += 1
                for j in ins.indices { offs[j] += st[j][ax] }
                if idx[ax] < outShape[ax] { break }
                for j in ins.indices { offs[j] -= st[j][ax] * idx[ax] }
                idx[ax] = 0
                ax -= 1
            }
        }
    }

    func generic(_ g: GenericOp, _ ins: [In], _ outTypes: [[Int]], node: String) throws -> [Buffer] {
        let os = outTypes[0]
        switch g {
        case let .binary(op):
            let out = buffer(os)
            let a = ins[0].p, b = ins[1].p
            Executor.forEachBroadcast(os, [ins[0].shape, ins[1].shape]) { o, off in
                let x = a[off[0]], y = b[off[1]]
                switch op {
                case .add: out.p[o] = x + y
                case .sub: out.p[o] = x - y
                case .mul: out.p[o] = x * y
                case .div: out.p[o] = x / y
                case .equal: out.p[o] = x == y ? 1 : 0
                case .pow:
                    // Exponents the importer accepts: 0.5, 1, 2, 3 (anything else has no libm-free definition here).
                    switch y {
                    case 2: out.p[o] = x * x
                    case 3: out.p[o] = (x * x) * x
                    case 1: out.p[o] = x
                    default: out.p[o] = x.squareRoot()
                    }
                }
            }
            return [out]
        case let .unary(op, to):
            let out = buffer(os)
            out.p.update(from: ins[0].p, count: out.count)
            switch op {
            case .erf: DetMath.map(out.p, out.count, DetMath.erf)
            case .exp: DetMath.map(out.p, out.count, DetMath.exp)
            case .sqrt: for i in 0..<out.count { out.p[i] = out.p[i].squareRoot() }
            case .neg: for i in 0..<out.count { out.p[i] = -out.p[i] }
            case .cast:
                if to == .uint8 { for i in 0..<out.count { out.p[i] = out.p[i] != 0 ? 1 : 0 } }
                else if !to.isFloat { for i in 0..<out.count { out.p[i] = out.p[i].rounded(.towardZero) } }
                else if to == .float16 { for i in 0..<out.count { out.p[i] = Float(Float16(out.p[i])) } }
            }
            return [out]
        case .select:
            let out = buffer(os)
            let c = ins[0].p, a = ins[1].p, b = ins[2].p
            Executor.forEachBroadcast(os, [ins[0].shape, ins[1].shape, ins[2].shape]) { o, off in out.p[o] = c[off[0]] != 0 ? a[off[1]] : b[off[2]] }
            return [out]
        case .matmul:
            let out = buffer(os)
            let a = ins[0].shape, b = ins[1].shape
            let m = a[a.count - 2], k = a[a.count - 1], n = b[b.count - 1]
            let lead = Array(os.dropLast(2))
            let aLead = Array(a.dropLast(2)), bLead = Array(b.dropLast(2))
            var aOffs = [Int](), bOffs = [Int]()
            Executor.forEachBroadcast(lead, [aLead, bLead]) { _, off in aOffs.append(off[0]); bOffs.append(off[1]) }
            if lead.isEmpty { aOffs = [0]; bOffs = [0] }
            for i in aOffs.indices {
                Kernels.linear(x: ins[0].p + aOffs[i] * m * k, m: m, k: k, w: ins[1].p + bOffs[i] * k * n, n: n, bias: nil,
                               out: out.p + i * m * n, pool: pool)
            }
            return [out]
        case let .softmax(axis):
            let out = buffer(os)
            let n = os[axis], inner = os[(axis + 1)...].reduce(1, *), outer = os[..<axis].reduce(1, *)
            let row = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { row.deallocate() }
            for o in 0..<outer { for i in 0..<inner {
                for j in 0..<n { row[j] = ins[0].p[(o * n + j) * inner + i] }
                Kernels.softmaxRow(row, n)
                for j in 0..<n { out.p[(o * n + j) * inner + i] = row[j] }
            } }
            return [out]
        case let .reduce(op, axes, _):
            let out = buffer(os)
            let s = ins[0].shape
            let keptShape = s.indices.map { axes.contains($0) ? 1 : s[$0] }
            let count = axes.reduce(1) { $0 * s[$1] }
            // Σ in row-major order of the input, which visits each output's reduced elements in order.
            var sums = [Float](repeating: 0, count: out.count)
            let st = Executor.broadcastStrides(keptShape, to: s)
            var idx = [Int](repeating: 0, count: s.count)
            for i in 0..<ins[0].count {
                var o = 0
                for ax in s.indices { o += idx[ax] * st[ax] }
                sums[o] += ins[0].p[i]
                var ax = s.count - 1
                while ax >= 0 { idx[ax] += 1; if idx[ax] < s[ax] { break }; idx[ax] = 0; ax -= 1 }
            }
            for i in 0..<out.count { out.p[i] = op == .mean ? sums[i] / Float(count) : sums[i] }
            return [out]
        case .reshape:
            let out = buffer(os)
            out.p.update(from: ins[0].p, count: out.count)
            return [out]
        case let .transpose(perm):
            let out = buffer(os)
            let st = Executor.strides(ins[0].shape)
            let permuted = perm.map { st[$0] }
            var idx = [Int](repeating: 0, count: os.count)
            var off = 0
            for o in 0..<out.count {
                out.p[o] = ins[0].p[off]
                var ax = os.count - 1
                while ax >= 0 {
                    idx[ax] += 1; off += permuted[ax]
                    if idx[ax] < os[ax] { break }
                    off -= permuted[ax] * idx[ax]; idx[ax] = 0; ax -= 1
                }
            }
            return [out]
        case let .concat(axis):
            let out = buffer(os)
            let outer = os[..<axis].reduce(1, *), inner = os[(axis + 1)...].reduce(1, *)
            var base = 0
            for t in ins {
                let len = t.shape[axis] * inner
                for o in 0..<outer { (out.p + o * os[axis] * inner + base).update(from: t.p + o * len, count: len) }
                base += len
            }
            return [out]
        case let .slice(axis, start, _, step):
            let out = buffer(os)
            let s = ins[0].shape
            let outer = s[..<axis].reduce(1, *), inner = s[(axis + 1)...].reduce(1, *)
            for o in 0..<outer { for j in 0..<os[axis] {
                (out.p + (o * os[axis] + j) * inner).update(from: ins[0].p + (o * s[axis] + start + j * step) * inner, count: inner)
            } }
            return [out]
        case let .gather(axis):
            let out = buffer(os)
            let s = ins[0].shape, n = s[axis]
            let outer = s[..<axis].reduce(1, *), inner = s[(axis + 1)...].reduce(1, *), m = ins[1].count
            for j in 0..<m {
                var i = Int(ins[1].p[j])
                if i < 0 { i += n }
                guard i >= 0, i < n else { throw RuntimeError.golden(reason: "node '\(node)': index \(Int(ins[1].p[j])) out of range 0..<\(n)") }
                for o in 0..<outer { (out.p + (o * m + j) * inner).update(from: ins[0].p + (o * n + i) * inner, count: inner) }
            }
            return [out]
        case .gatherND:
            let out = buffer(os)
            let d = ins[0].shape, q = ins[1].shape, mIdx = q.last!
            let st = Executor.strides(d)
            let inner = d[mIdx...].reduce(1, *), tuples = ins[1].count / mIdx
            for t in 0..<tuples {
                var off = 0
                for j in 0..<mIdx {
                    var i = Int(ins[1].p[t * mIdx + j])
                    if i < 0 { i += d[j] }
                    guard i >= 0, i < d[j] else { throw RuntimeError.golden(reason: "node '\(node)': index out of range") }
                    off += i * st[j]
                }
                (out.p + t * inner).update(from: ins[0].p + off, count: inner)
            }
            return [out]
        case .expand:
            let out = buffer(os)
            Executor.forEachBroadcast(os, [ins[0].shape]) { o, off in out.p[o] = ins[0].p[off[0]] }
            return [out]
        case let .topK(k, axis):
            let vals = buffer(os), idxs = buffer(outTypes[1])
            let s = ins[0].shape, n = s[axis]
            let outer = s[..<axis].reduce(1, *), inner = s[(axis + 1)...].reduce(1, *)
            for o in 0..<outer { for i in 0..<inner {
                var chosen = [Int]()
                for _ in 0..<k {
                    var best = -1
                    for j in 0..<n where !chosen.contains(j) {
                        if best < 0 || ins[0].p[(o * n + j) * inner + i] > ins[0].p[(o * n + best) * inner + i] { best = j }
                    }
                    chosen.append(best)
                }
                for (r, j) in chosen.enumerated() {
                    vals.p[(o * k + r) * inner + i] = ins[0].p[(o * n + j) * inner + i]
                    idxs.p[(o * k + r) * inner + i] = Float(j)
                }
            } }
            return [vals, idxs]
        case let .conv(stride, pads):
            let x = ins[0].shape, w = ins[1].shape
            let b = x[0], c = x[1], h = x[2], wd = x[3], o = w[0], kh = w[2], kw = w[3]
            let oh = os[2], ow = os[3], k = c * kh * kw
            let cols = buffer([b * oh * ow, k])
            for bi in 0..<b { for y in 0..<oh { for xx in 0..<ow {
                var j = ((bi * oh + y) * ow + xx) * k
                for ch in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
                    let iy = y * stride[0] - pads[0] + ky, ix = xx * stride[1] - pads[1] + kx
                    cols.p[j] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? ins[0].p[((bi * c + ch) * h + iy) * wd + ix] : 0
                    j += 1
                } } }
            } } }
            let wT = buffer([k, o])
            for r in 0..<o { for q in 0..<k { wT.p[q * o + r] = ins[1].p[r * k + q] } }
            let flat = buffer([b * oh * ow, o])
            Kernels.linear(x: cols.p, m: b * oh * ow, k: k, w: wT.p, n: o, bias: ins.count > 2 ? ins[2].p : nil, out: flat.p, pool: pool)
            let out = buffer(os)
            for bi in 0..<b { for p in 0..<(oh * ow) { for r in 0..<o { out.p[(bi * o + r) * oh * ow + p] = flat.p[(bi * oh * ow + p) * o + r] } } }
            return [out]
        }
    }
}
