import VMoECore
import VMoEIR

/// Rewrites generic-op patterns of exported ViTs into the IR's model-level ops: linear layers, exact
/// GELU, patch embedding, class token, token selection, and the Mobile V-MoE router + experts. What is
/// not recognised keeps running as generic ops. Each rewrite is checked by the IR verifier.
struct ONNXRaise {
    var graph: Graph
    var raised = [String]()
    var warnings = [String]()
    var counts = [String: Int]()
    var fresh = 0

    init(graph: Graph) { self.graph = graph }

    mutating func run() throws {
        linear(); gelu(); patchEmbed(); classToken(); selectToken(); attention(); residualAdds()
        try moe()
        graph.eliminateDeadCode()
        unreachableExperts()
        try graph.verify()
        raised = counts.keys.sorted().map { "\(counts[$0]!) \($0)" }
        let left = Set(graph.nodes.compactMap { n -> String? in if case let .generic(g) = n.op { return g.name } else { return nil } })
        if !left.isEmpty { warnings.append("ops left generic (run op by op): \(left.sorted().joined(separator: ", "))") }
    }

    /// The tracing bug: a per-expert branch (`if (idx == e).any()`) is recorded only for the experts the
    /// dummy input reached, so the others can never run. Detected as a router (softmax → top-k over E)
    /// whose indices are compared, in live code, with only some expert ids.
    mutating func unreachableExperts() {
        for n in graph.nodes {
            guard case let .generic(.topK(_, axis)) = n.op, let e = graph.type(of: n.inputs[0])?.shape[axis], case let .fixed(experts) = e else { continue }
            var compared = Set<Int>()
            for c in graph.nodes {
                guard case .generic(.binary(.equal)) = c.op else { continue }
                for (a, b) in [(0, 1), (1, 0)] where strip(c.inputs[a]) == n.outputs[1] {
                    if let t = const(c.inputs[b]), t.elementCount == 1 { compared.insert(Int(t.floatValues()[0])) }
                }
            }
            guard !compared.isEmpty, compared.count < experts else { continue }
            let missing = (0..<experts).filter { !compared.contains($0) }
            warnings.append("router '\(n.name)' chooses among \(experts) experts but the graph only has branches for \(compared.sorted()): experts \(missing) can never be reached (tracing baked the example input's routes in; export with a static path over all experts)")
        }
    }

    // MARK: helpers

    func node(producing v: String) -> Node? { graph.producer(of: v).map { graph.nodes[$0] } }
    func generic(_ v: String) -> GenericOp? { if case let .generic(g)? = node(producing: v)?.op { return g }; return nil }
    func const(_ v: String) -> Tensor? { graph.constants[v] }
    func scalar(_ v: String) -> Float? {
        guard let t = const(v), t.elementCount == 1, t.dtype.isFloat else { return nil }
        return t.floatValues()[0]
    }
    func close(_ a: Float?, _ b: Float) -> Bool { a.map { abs($0 - b) <= 1e-6 * max(1, abs(b)) } ?? false }
    /// Follows reshapes and casts (which keep element order) back to their source.
    func strip(_ v: String) -> String {
        var v = v
        while let n = node(producing: v), case let .generic(g) = n.op {
            switch g {
            case .reshape, .unary(.cast, _): v = n.inputs[0]
            default: return v
            }
        }
        return v
    }
    func soleUse(_ v: String) -> (node: Int, input: Int)? {
        let u = graph.uses(of: v)
        return u.count == 1 && !graph.outputs.contains(v) ? u[0] : nil
    }
    mutating func replaceUses(_ old: String, with new: String) {
        for (i, j) in graph.uses(of: old) { graph.nodes[i].inputs[j] = new }
        graph.outputs = graph.outputs.map { $0 == old ? new : $0 }
    }
    mutating func count(_ what: String) { counts[what, default: 0] += 1 }

    /// Inserts a node before index `at`, typing its outputs. It is named after the ONNX scope of the
    /// node it replaces (`/blocks.2/moe/ReduceSum` → `/blocks.2/moe:moe`), unique in the graph.
    @discardableResult
    mutating func insert(_ name: String, _ op: Op, _ inputs: [String], at: Int, replacing original: String? = nil) throws -> [String] {
        fresh += 1
        var scope = ""
        if let o = original?.split(separator: "#").first, let slash = o.lastIndex(of: "/"), slash != o.startIndex { scope = String(o[..<slash]) + ":" }
        var n = scope + name
        if graph.type(of: n) != nil || graph.nodes.contains(where: { $0.name == n }) { n += "#\(fresh)" }
        let types = try op.outputTypes(inputs.map { graph.type(of: $0)! }, node: n)
        let outs = types.count == 1 ? [n] : types.indices.map { "\(n).\($0)" }
        for (o, t) in zip(outs, types) { graph.valueTypes[o] = t }
        graph.nodes.insert(Node(name: n, op: op, inputs: inputs, outputs: outs), at: at)
        return outs
    }

    // MARK: patterns

    /// matmul(x, W) with a constant 2-D W → linear; a following add of a constant [N] becomes its bias.
    mutating func linear() {
        for i in graph.nodes.indices {
            guard case .generic(.matmul) = graph.nodes[i].op, let w = const(graph.nodes[i].inputs[1]), w.shape.count == 2, w.dtype.isFloat,
                  graph.type(of: graph.nodes[i].inputs[0])?.dtype == .float32 else { continue }
            graph.nodes[i].op = .linear
            count("linear")
            let out = graph.nodes[i].outputs[0]
            guard let (ai, pos) = soleUse(out), case .generic(.binary(.add)) = graph.nodes[ai].op else { continue }
            let other = graph.nodes[ai].inputs[1 - pos]
            guard let b = const(other), b.dtype.isFloat, b.shape == [w.shape[1]] else { continue }
            graph.nodes[i].inputs.append(other)
            let addOut = graph.nodes[ai].outputs[0]
            replaceUses(addOut, with: out)
        }
        graph.eliminateDeadCode()
    }

    /// x·0.5·(1 + erf(x/√2)) in any grouping → gelu(x).
    mutating func gelu() {
        var i = 0
        while i < graph.nodes.count {
            defer { i += 1 }
            guard case .generic(.unary(.erf, _)) = graph.nodes[i].op, let d = node(producing: graph.nodes[i].inputs[0]) else { continue }
            let x: String
            switch d.op {
            case .generic(.binary(.div)) where close(scalar(d.inputs[1]), 1.4142135): x = d.inputs[0]
            case .generic(.binary(.mul)) where close(scalar(d.inputs[1]), 0.70710678): x = d.inputs[0]
            case .generic(.binary(.mul)) where close(scalar(d.inputs[0]), 0.70710678): x = d.inputs[1]
            default: continue
            }
            guard let (ai, ap) = soleUse(graph.nodes[i].outputs[0]), case .generic(.binary(.add)) = graph.nodes[ai].op,
                  close(scalar(graph.nodes[ai].inputs[1 - ap]), 1) else { continue }
            let a = graph.nodes[ai].outputs[0]
            guard let (m1, p1) = soleUse(a), case .generic(.binary(.mul)) = graph.nodes[m1].op else { continue }
            let other = graph.nodes[m1].inputs[1 - p1]
            var out: String?
            if other == x || close(scalar(other), 0.5) {
                let want = other == x ? "half" : "x"
                if let (m2, p2) = soleUse(graph.nodes[m1].outputs[0]), case .generic(.binary(.mul)) = graph.nodes[m2].op {
                    let o2 = graph.nodes[m2].inputs[1 - p2]
                    if (want == "half" && close(scalar(o2), 0.5)) || (want == "x" && o2 == x) { out = graph.nodes[m2].outputs[0] }
                }
            } else if let h = node(producing: other), case .generic(.binary(.mul)) = h.op,
                      (h.inputs[0] == x && close(scalar(h.inputs[1]), 0.5)) || (h.inputs[1] == x && close(scalar(h.inputs[0]), 0.5)) {
                out = graph.nodes[m1].outputs[0]
            }
            guard let o = out, let at = graph.producer(of: o), let g = try? insert("gelu", .gelu, [x], at: at + 1, replacing: graph.nodes[i].name) else { continue }
            replaceUses(o, with: g[0])
            count("gelu")
        }
        graph.eliminateDeadCode()
    }

    /// conv(image, W[D,C,p,p], b) with stride = kernel, no padding → reshape [B,D,N] → transpose → patch_embed.
    mutating func patchEmbed() {
        var i = -1
        while i + 1 < graph.nodes.count {
            i += 1
            guard case let .generic(.conv(stride, pads)) = graph.nodes[i].op, graph.nodes[i].inputs.count == 3,
                  graph.inputs.contains(where: { $0.name == graph.nodes[i].inputs[0] }),
                  let w = graph.type(of: graph.nodes[i].inputs[1])?.resolved(batch: 1), w.count == 4, w[2] == w[3], stride == [w[2], w[2]], pads.allSatisfy({ $0 == 0 }),
                  let (ri, _) = soleUse(graph.nodes[i].outputs[0]), case .generic(.reshape) = graph.nodes[ri].op,
                  let (ti, _) = soleUse(graph.nodes[ri].outputs[0]), case .generic(.transpose([0, 2, 1])) = graph.nodes[ti].op,
                  let t = graph.valueTypes[graph.nodes[ti].outputs[0]], t.shape.count == 3 else { continue }
            guard let out = try? insert("patch_embed", .patchEmbed(patch: w[2]), graph.nodes[i].inputs, at: ti + 1, replacing: graph.nodes[i].name), graph.valueTypes[out[0]] == t else { continue }
            replaceUses(graph.nodes[ti].outputs[0], with: out[0])
            count("patch_embed")
        }
        graph.eliminateDeadCode()
    }

    /// concat(axis 1) of [expand(cls[1,1,D]), x[B,N,D]] → prepend_class_token.
    mutating func classToken() {
        var i = -1
        while i + 1 < graph.nodes.count {
            i += 1
            guard case .generic(.concat(1)) = graph.nodes[i].op, graph.nodes[i].inputs.count == 2,
                  let e = node(producing: graph.nodes[i].inputs[0]), case .generic(.expand) = e.op, let cls = const(e.inputs[0]),
                  cls.shape.count == 3, cls.shape[0] == 1, cls.shape[1] == 1,
                  let out = try? insert("cls", .prependClassToken, [graph.nodes[i].inputs[1], e.inputs[0]], at: i + 1, replacing: graph.nodes[i].name) else { continue }
            replaceUses(graph.nodes[i].outputs[0], with: out[0])
            count("class_token")
        }
        graph.eliminateDeadCode()
    }

    /// gather(axis 1, scalar i) or slice(axis 1, i:i+1) + reshape of x[B,T,D] → select_token(i).
    mutating func selectToken() {
        var i = -1
        while i + 1 < graph.nodes.count {
            i += 1
            let n = graph.nodes[i]
            var index: Int?, out = n.outputs[0]
            switch n.op {
            case .generic(.gather(1)):
                if let t = const(n.inputs[1]), t.shape.isEmpty { index = Int(t.floatValues()[0]) }
            case let .generic(.slice(1, s, e, 1)) where e == s + 1:
                if let (ri, _) = soleUse(out), case .generic(.reshape) = graph.nodes[ri].op { index = s; out = graph.nodes[ri].outputs[0] }
            default: break
            }
            guard var idx = index, let xt = graph.type(of: n.inputs[0]), xt.shape.count == 3, case let .fixed(tk) = xt.shape[1] else { continue }
            if idx < 0 { idx += tk }
            guard let new = try? insert("select", .selectToken(index: idx), [n.inputs[0]], at: i + 1, replacing: n.name), graph.valueTypes[new[0]] == graph.valueTypes[out] else { continue }
            replaceUses(out, with: new[0])
            count("select_token")
        }
        graph.eliminateDeadCode()
    }
}
