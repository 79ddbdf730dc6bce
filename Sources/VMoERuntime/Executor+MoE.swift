import VMoEIR
import VMoEKernels

extension Executor {
    /// Per-image routing (see the spec's "route"): router input, softmax over all experts, top-k among
    /// the allowed ones with ties to the lower index, gates by kind.
    func route(_ spec: RouteSpec, x: (p: UnsafePointer<Float>, count: Int, shape: [Int]), w: UnsafePointer<Float>,
               bias: UnsafePointer<Float>, experts e: Int, batch: Int, outTypes: [[Int]]) -> [Buffer] {
        let t = x.shape[1], d = x.shape[2], k = spec.topK
        let r = buffer([batch, d])
        for b in 0..<batch {
            let img = x.p + b * t * d, o = r.p + b * d
            switch spec.input {
            case .cls: o.update(from: img, count: d)
            case .mean:
                for c in 0..<d { o[c] = img[c] }
                for tok in 1..<max(t, 1) { for c in 0..<d { o[c] += img[tok * d + c] } }
                for c in 0..<d { o[c] = o[c] / Float(t) }
            }
        }
        let probs = buffer([batch, e])
        Kernels.linear(x: r.p, m: batch, k: d, w: w, n: e, bias: bias, out: probs.p, pool: Parallel(threads: 1))
        let ids = buffer(outTypes[0]), gates = buffer(outTypes[1])
        let allowed = spec.allowed ?? Array(0..<e)
        for b in 0..<batch {
            let p = probs.p + b * e
            Kernels.softmaxRow(p, e)
            var chosen = [Int]()
            for _ in 0..<k {
                var best = -1
                for j in allowed where !chosen.contains(j) && (best < 0 || p[j] > p[best]) { best = j }
                chosen.append(best)
            }
            var sum: Float = 0
            for j in chosen { sum += p[j] }
            for (rank, j) in chosen.enumerated() {
                // With an allowed list the output is the slot (position in the list), which indexes the
                // sliced expert weights of a pruned model.
                ids.p[b * k + rank] = Float(spec.allowed == nil ? j : allowed.firstIndex(of: j)!)
                gates.p[b * k + rank] = spec.gate == .softmax ? p[j] : p[j] / sum
            }
        }
        return [ids, gates]
    }

    /// Expert MLPs: rows of all images routed to an expert run as one linear (rows are independent,
    /// so grouping changes no bits), then each image sums its experts in rank order with fma.
    func moe(_ node: Node, h: (p: UnsafePointer<Float>, count: Int, shape: [Int]), experts: UnsafePointer<Float>, gates: UnsafePointer<Float>,
             k: Int, fc1: (p: UnsafePointer<Float>, count: Int, shape: [Int]), fc1b: UnsafePointer<Float>,
             fc2: (p: UnsafePointer<Float>, count: Int, shape: [Int]), fc2b: UnsafePointer<Float>,
             batch: Int, outType: [Int]) -> Buffer {
        let t = h.shape[1], d = h.shape[2], e = fc1.shape[0], hid = fc1.shape[2]
        let slots = buffer([batch, k, t, d])  // y for each (image, rank)
        for ex in 0..<e {
            var members = [(b: Int, rank: Int)]()
            for b in 0..<batch { for j in 0..<k where Int(experts[b * k + j]) == ex { members.append((b, j)) } }
            if members.isEmpty { continue }
            let rows = members.count * t
            let xin = buffer([rows, d]), mid = buffer([rows, hid]), y = buffer([rows, d])
            for (i, m) in members.enumerated() { (xin.p + i * t * d).update(from: h.p + m.b * t * d, count: t * d) }
            Kernels.linearPacked(x: xin.p, m: rows, k: d, w: packedWeight(node.inputs[3], expert: ex, k: d, n: hid), n: hid,
                                 bias: fc1b + ex * hid, out: mid.p, pool: pool)
            Kernels.gelu(mid.p, count: rows * hid, pool: pool)
            Kernels.linearPacked(x: mid.p, m: rows, k: hid, w: packedWeight(node.inputs[5], expert: ex, k: hid, n: d), n: d,
                                 bias: fc2b + ex * d, out: y.p, pool: pool)
            for (i, m) in members.enumerated() { (slots.p + (m.b * k + m.rank) * t * d).update(from: y.p + i * t * d, count: t * d) }
        }
        let out = buffer(outType)
        for b in 0..<batch {
            let o = out.p + b * t * d
            for j in 0..<k {
                let g = gates[b * k + j], y = slots.p + (b * k + j) * t * d
                for i in 0..<(t * d) { o[i] = o[i].addingProduct(g, y[i]) }
            }
        }
        return out
    }
}
