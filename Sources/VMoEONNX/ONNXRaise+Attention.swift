import VMoECore
import VMoEIR

extension ONNXRaise {
    /// timm attention as exported: qkv → reshape [B,T,3,H,hd] → transpose [2,0,3,1,4] → q, k, v slices;
    /// softmax((q·c1)(kᵀ·c2)) · v → transpose [0,2,1,3] → reshape [B,T,D]. Raised to attention(heads,
    /// scale = c1·c2). When that product is within 1e-6 of 1/√hd — SDPA's default, which exporters split
    /// into two square roots — the canonical float 1/√hd is used, so the graph matches the HDF5 path's.
    mutating func attention() {
        var i = -1
        while i + 1 < graph.nodes.count {
            i += 1
            let out = graph.nodes[i]
            guard case let .generic(.reshape(shape)) = out.op, shape.count == 3,
                  let tr = node(producing: out.inputs[0]), case .generic(.transpose([0, 2, 1, 3])) = tr.op,
                  let pv = node(producing: tr.inputs[0]), case .generic(.matmul) = pv.op,
                  let sm = node(producing: pv.inputs[0]), case .generic(.softmax(3)) = sm.op,
                  let qk = node(producing: sm.inputs[0]) else { continue }
            var scale: Float = 1
            var scores = qk
            if case .generic(.binary(.mul)) = qk.op, let c = scalar(qk.inputs[1]), let m = node(producing: qk.inputs[0]) { scale *= c; scores = m }
            guard case .generic(.matmul) = scores.op else { continue }
            var qv = scores.inputs[0], kv = scores.inputs[1]
            if let m = node(producing: qv), case .generic(.binary(.mul)) = m.op, let c = scalar(m.inputs[1]) { scale *= c; qv = m.inputs[0] }
            if let m = node(producing: kv), case .generic(.binary(.mul)) = m.op, let c = scalar(m.inputs[1]) { scale *= c; kv = m.inputs[0] }
            guard let k = unswapLastTwo(kv),
                  let (qs, qi) = qkvSlice(strip(qv)), let (ks, ki) = qkvSlice(strip(k)), let (vs, vi) = qkvSlice(strip(pv.inputs[1])),
                  qi == 0, ki == 1, vi == 2, qs == ks, ks == vs,
                  let perm = node(producing: qs), case .generic(.transpose([2, 0, 3, 1, 4])) = perm.op,
                  let split = node(producing: perm.inputs[0]), case let .generic(.reshape(s5)) = split.op, s5.count == 5,
                  case let .fixed(heads) = s5[3], case let .fixed(hd) = s5[4] else { continue }
            let canonical = 1 / Float(hd).squareRoot()
            if abs(scale - canonical) <= 1e-6 * canonical { scale = canonical }
            guard let new = try? insert("attention", .attention(heads: heads, scale: scale), [split.inputs[0]], at: i + 1, replacing: out.name),
                  graph.valueTypes[new[0]] == graph.valueTypes[out.outputs[0]] else { continue }
            replaceUses(out.outputs[0], with: new[0])
            count("attention")
        }
        graph.eliminateDeadCode()
    }

    /// v with its last two axes swapped: transpose [0,1,3,2](x), or the exporter's
    /// reshape(transpose [0,2,1](reshape(x))) through a merged batch·heads axis.
    func unswapLastTwo(_ v: String) -> String? {
        guard let n = node(producing: v) else { return nil }
        if case .generic(.transpose([0, 1, 3, 2])) = n.op { return n.inputs[0] }
        if case .generic(.reshape) = n.op, let t = node(producing: n.inputs[0]), case .generic(.transpose([0, 2, 1])) = t.op,
           let r = node(producing: t.inputs[0]), case .generic(.reshape) = r.op { return r.inputs[0] }
        return nil
    }

    /// slice(axis 0, j:j+1) of the permuted qkv → (permuted value, j).
    func qkvSlice(_ v: String) -> (String, Int)? {
        guard let n = node(producing: v), case let .generic(.slice(0, s, e, 1)) = n.op, e == s + 1 else { return nil }
        return (n.inputs[0], s)
    }

    /// generic add whose operands fit the model-level add (residuals, position embedding) → add.
    mutating func residualAdds() {
        for i in graph.nodes.indices {
            guard case .generic(.binary(.add)) = graph.nodes[i].op else { continue }
            let n = graph.nodes[i]
            for order in [[0, 1], [1, 0]] {
                let ins = order.map { n.inputs[$0] }
                if let t = try? Op.add.outputTypes(ins.map { graph.type(of: $0)! }, node: n.name), t == [graph.valueTypes[n.outputs[0]]!] {
                    graph.nodes[i].op = .add
                    graph.nodes[i].inputs = ins
                    count("add")
                    break
                }
            }
        }
    }
}
