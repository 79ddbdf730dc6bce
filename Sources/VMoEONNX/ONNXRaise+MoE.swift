import VMoECore
import VMoEIR

extension ONNXRaise {
    /// The exported Mobile V-MoE block: reduce_sum over the k axis of gates × (expert fc2(gelu(fc1(h))))
    /// with expert weights gathered by the router's top-k indices. Raised to route + moe_mlp, the same
    /// ops the HDF5 path builds; one route per TopK, so a shared router stays shared.
    mutating func moe() throws {
        var routes = [String: (experts: String, gates: String)]()  // by TopK node name
        var i = -1
        while i + 1 < graph.nodes.count {
            i += 1
            let r = graph.nodes[i]
            guard case .generic(.reduce(.sum, [1], false)) = r.op, let mz = node(producing: r.inputs[0]), case .generic(.binary(.mul)) = mz.op else { continue }
            // One operand is the expert output z [B,k,T,D], the other the gates reshaped to [B,k,1,1].
            guard let m = matchExperts(mz) else { continue }
            guard let topK = node(producing: m.indices), case let .generic(.topK(k, 1)) = topK.op, topK.outputs[1] == m.indices,
                  let sm = node(producing: topK.inputs[0]), case .generic(.softmax(1)) = sm.op,
                  let lin = node(producing: sm.inputs[0]), case .linear = lin.op, lin.inputs.count == 3,
                  let src = node(producing: lin.inputs[0]) else { continue }
            let input: ModelConfig.RouterInput
            let x: String
            switch src.op {
            case .selectToken(0): input = .cls; x = src.inputs[0]
            case .generic(.reduce(.mean, [1], false)): input = .mean; x = src.inputs[0]
            default: continue
            }
            // Gates: the top-k probabilities, or those divided by their sum.
            let gate: ModelConfig.GateKind
            if m.gates == topK.outputs[0] { gate = .softmax }
            else if let d = node(producing: m.gates), case .generic(.binary(.div)) = d.op, d.inputs[0] == topK.outputs[0],
                    let s = node(producing: d.inputs[1]), case .generic(.reduce(.sum, [1], true)) = s.op, s.inputs[0] == topK.outputs[0] { gate = .renormalized }
            else { continue }
            let route: (experts: String, gates: String)
            if let existing = routes[topK.name] { route = existing } else {
                // The router's output must be computed where its input is available: right after it.
                guard let at = graph.producer(of: lin.inputs[0]) else { continue }
                let outs = try insert("router", .route(RouteSpec(input: input, topK: k, gate: gate)), [x, lin.inputs[1], lin.inputs[2]], at: at + 1, replacing: lin.name)
                route = (outs[0], outs[1])
                routes[topK.name] = route
                count("router (\(input.rawValue), top-\(k), \(gate.rawValue))")
                i += 1
            }
            let names = ["fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"].map { "\(r.name).\($0)" }
            graph.constants[names[0]] = m.fc1
            graph.constants[names[1]] = m.fc1b
            graph.constants[names[2]] = m.fc2
            graph.constants[names[3]] = m.fc2b
            guard let at = graph.producer(of: r.outputs[0]) else { continue }
            let out = try insert("moe", .moeMLP, [m.h, route.experts, route.gates] + names, at: at + 1, replacing: r.name)
            replaceUses(r.outputs[0], with: out[0])
            count("moe block (\(m.fc1.shape[0]) experts)")
        }
        graph.eliminateDeadCode()
    }

    struct Experts {
        var h: String
        var indices: String
        var gates: String
        var fc1: Tensor, fc1b: Tensor, fc2: Tensor, fc2b: Tensor
    }

    /// Matches z·g with z = gather(fc2)ᵀ-matmul(gelu(gather(fc1)ᵀ-matmul(h) + b1)) + b2, all gathered by
    /// the same indices; returns the stacked weights as the IR wants them ([E,D,H], [E,H,D]).
    func matchExperts(_ mz: Node) -> Experts? {
        for zi in 0..<2 {
            let z = mz.inputs[zi], g = strip(mz.inputs[1 - zi])
            guard let add2 = node(producing: z), case .generic(.binary(.add)) = add2.op else { continue }
            for mi in 0..<2 {
                guard let mm2 = node(producing: add2.inputs[mi]), case .generic(.matmul) = mm2.op,
                      let (w2, idx2) = gatheredWeight(mm2.inputs[1]), let (b2, idxb2) = gatheredConst(strip(add2.inputs[1 - mi])),
                      idx2 == idxb2, let ge = node(producing: mm2.inputs[0]), case .gelu = ge.op,
                      let add1 = node(producing: ge.inputs[0]), case .generic(.binary(.add)) = add1.op else { continue }
                for ai in 0..<2 {
                    guard let mm1 = node(producing: add1.inputs[ai]), case .generic(.matmul) = mm1.op,
                          let (w1, idx1) = gatheredWeight(mm1.inputs[1]), let (b1, idxb1) = gatheredConst(strip(add1.inputs[1 - ai])),
                          idx1 == idx2, idxb1 == idx2 else { continue }
                    let h = strip(mm1.inputs[0])
                    guard let ht = graph.type(of: h), ht.shape.count == 3 else { continue }
                    return Experts(h: h, indices: idx2, gates: g, fc1: w1, fc1b: b1, fc2: w2, fc2b: b2)
                }
            }
        }
        return nil
    }

    /// transpose(perm [0,1,3,2]) of a gathered [E,out,in] constant → its per-expert transpose [E,in,out].
    func gatheredWeight(_ v: String) -> (Tensor, String)? {
        guard let t = node(producing: v), case .generic(.transpose([0, 1, 3, 2])) = t.op,
              let (w, idx) = gatheredConst(t.inputs[0]), w.shape.count == 3 else { return nil }
        let e = w.shape[0], r = w.shape[1], c = w.shape[2]
        let src = w.floatValues()
        var out = [Float](repeating: 0, count: src.count)
        for x in 0..<e { for i in 0..<r { for j in 0..<c { out[(x * c + j) * r + i] = src[(x * r + i) * c + j] } } }
        return (Tensor(floats: out, shape: [e, c, r]), idx)
    }

    /// gather(axis 0, const, idx) or gather_nd(const, idx[...,1]) → (const, stripped idx).
    func gatheredConst(_ v: String) -> (Tensor, String)? {
        guard let n = node(producing: v) else { return nil }
        switch n.op {
        case .generic(.gather(0)):
            guard let c = const(n.inputs[0]) else { return nil }
            return (Tensor(floats: c.floatValues(), shape: c.shape), strip(n.inputs[1]))
        case .generic(.gatherND):
            guard let c = const(n.inputs[0]), graph.type(of: n.inputs[1])?.shape.last == .fixed(1) else { return nil }
            return (Tensor(floats: c.floatValues(), shape: c.shape), strip(n.inputs[1]))
        default: return nil
        }
    }
}
