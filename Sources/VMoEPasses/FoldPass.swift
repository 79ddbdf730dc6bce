import Foundation
import VMoECore
import VMoEIR

/// fold: constant folding, no-op removal, dead code elimination, constant deduplication, and folding
/// the LayerNorm affine (γ, β) into the linear layers that consume it and the attention scale into
/// the q weights. Each algebraic fold is measured on the golden images and undone (with a note) if it
/// moves any output by more than `bound`.
public struct FoldPass: Pass {
    public let name = "fold"
    /// Documented bound on the max |Δ| of any graph output that one algebraic fold may cause.
    public static let defaultBound: Float = 1e-4
    public var bound: Float

    public init(bound: Float = FoldPass.defaultBound) { self.bound = bound }

    public func run(_ g: inout Graph, _ ctx: inout PassContext) throws -> (notes: [String], details: [String: JSONValue]) {
        var notes = [String]()
        let baseline = try Evaluate.run(g, ctx.golden, threads: ctx.threads)
        func delta(_ candidate: Graph) throws -> Float {
            let out = try Evaluate.run(candidate, ctx.golden, threads: ctx.threads)
            return g.outputs.map { Evaluate.maxAbsDiff(out[$0]!, baseline[$0]!) }.max() ?? 0
        }

        // 1. Constant nodes: any node whose inputs are all constants and that has no batch axis.
        var folded = 0
        for n in g.nodes where n.inputs.allSatisfy({ g.constants[$0] != nil }) && n.outputs.count == 1 {
            guard case .add = n.op, let a = g.constants[n.inputs[0]], let b = g.constants[n.inputs[1]], a.dtype == .float32, b.dtype == .float32 else { continue }
            let x = a.floatValues(), y = b.floatValues()
            g.constants[n.outputs[0]] = Tensor(floats: x.indices.map { x[$0] + y[$0 % y.count] }, shape: a.shape)
            g.nodes.removeAll { $0.name == n.name }
            g.valueTypes[n.outputs[0]] = nil
            folded += 1
        }
        notes.append("\(folded) constant node(s) folded")

        // 2. No-ops: adding an all-zero constant.
        var noops = 0
        for n in g.nodes {
            guard case .add = n.op, let z = g.constants[n.inputs[1]], z.floatValues().allSatisfy({ $0 == 0 }),
                  g.type(of: n.inputs[0]) == g.valueTypes[n.outputs[0]] else { continue }
            for (i, j) in g.uses(of: n.outputs[0]) { g.nodes[i].inputs[j] = n.inputs[0] }
            g.outputs = g.outputs.map { $0 == n.outputs[0] ? n.inputs[0] : $0 }
            g.nodes.removeAll { $0.name == n.name }
            g.valueTypes[n.outputs[0]] = nil
            noops += 1
        }
        notes.append("\(noops) no-op node(s) removed")

        // 3. Attention scale into the q columns of the qkv projection.
        var scaleFolds = 0
        for (ai, n) in g.nodes.enumerated() {
            guard case let .attention(heads, scale) = n.op, scale != 1, let pi = g.producer(of: n.inputs[0]), case .linear = g.nodes[pi].op,
                  g.uses(of: n.inputs[0]).count == 1, g.nodes[pi].inputs.count == 3 else { continue }
            let wName = g.nodes[pi].inputs[1], bName = g.nodes[pi].inputs[2]
            guard let w = g.constants[wName], let b = g.constants[bName], w.dtype == .float32, b.dtype == .float32,
                  g.uses(of: wName).count == 1, g.uses(of: bName).count == 1 else {
                notes.append("attention scale of '\(n.name)' kept: its qkv weights are not private f32 constants")
                continue
            }
            var c = g
            let k = w.shape[0], cols = w.shape[1], d = cols / 3
            var wv = w.floatValues(), bv = b.floatValues()
            for r in 0..<k { for j in 0..<d { wv[r * cols + j] *= scale } }
            for j in 0..<d { bv[j] *= scale }
            c.constants[wName] = Tensor(floats: wv, shape: w.shape)
            c.constants[bName] = Tensor(floats: bv, shape: b.shape)
            c.nodes[ai].op = .attention(heads: heads, scale: 1)
            let dl = try delta(c)
            if dl <= bound { g = c; scaleFolds += 1 } else {
                notes.append("attention scale of '\(n.name)' kept: folding moved outputs by \(dl) > \(bound)")
            }
        }
        notes.append("\(scaleFolds) attention scale(s) folded into q weights")

        // 4. LayerNorm affine into consuming linear layers (directly, or through select_token) and expert fc1.
        var lnFolds = 0
        for li in g.nodes.indices {
            guard case .layerNorm = g.nodes[li].op else { continue }
            let ln = g.nodes[li]
            guard let gamma = g.constants[ln.inputs[1]], let beta = g.constants[ln.inputs[2]], gamma.dtype == .float32, beta.dtype == .float32 else { continue }
            let gv = gamma.floatValues(), bv = beta.floatValues()
            if gv.allSatisfy({ $0 == 1 }) && bv.allSatisfy({ $0 == 0 }) { continue }
            // Consumers: linear (input 0), moe_mlp (input 0), or select_token whose users are all linear.
            var targets = [(node: Int, weight: Int, bias: Int)]()
            var ok = true
            var frontier = g.uses(of: ln.outputs[0])
            while let (ni, pos) = frontier.popLast() {
                switch g.nodes[ni].op {
                case .linear where pos == 0 && g.nodes[ni].inputs.count == 3: targets.append((ni, 1, 2))
                case .moeMLP where pos == 0: targets.append((ni, 3, 4))
                case .selectToken: frontier += g.uses(of: g.nodes[ni].outputs[0])
                default: ok = false
                }
            }
            if g.outputs.contains(ln.outputs[0]) { ok = false }
            guard ok, !targets.isEmpty else { continue }
            var c = g
            var foldable = true
            for t in targets {
                let wName = c.nodes[t.node].inputs[t.weight], bName = c.nodes[t.node].inputs[t.bias]
                guard let w = c.constants[wName], let b = c.constants[bName], w.dtype == .float32, b.dtype == .float32,
                      c.uses(of: wName).count == 1, c.uses(of: bName).count == 1 else { foldable = false; break }
                // W'[k,n] = γ[k]·W[k,n];  b'[n] = b[n] + Σ_k β[k]·W[k,n] (summed in double, rounded once).
                let lead = w.shape.count == 3 ? w.shape[0] : 1, k = w.shape[w.shape.count - 2], n = w.shape[w.shape.count - 1]
                var wv = w.floatValues(), bb = b.floatValues()
                for e in 0..<lead {
                    for j in 0..<n {
                        var s = Double(bb[e * n + j])
                        for r in 0..<k { s += Double(bv[r]) * Double(wv[(e * k + r) * n + j]) }
                        bb[e * n + j] = Float(s)
                    }
                    for r in 0..<k { for j in 0..<n { wv[(e * k + r) * n + j] *= gv[r] } }
                }
                c.constants[wName] = Tensor(floats: wv, shape: w.shape)
                c.constants[bName] = Tensor(floats: bb, shape: b.shape)
            }
            guard foldable else {
                notes.append("LayerNorm '\(ln.name)' kept: a consumer's weights are not private f32 constants")
                continue
            }
            let d = gamma.shape[0]
            c.constants[ln.inputs[1]] = Tensor(floats: [Float](repeating: 1, count: d), shape: [d])
            c.constants[ln.inputs[2]] = Tensor(floats: [Float](repeating: 0, count: d), shape: [d])
            let dl = try delta(c)
            if dl <= bound { g = c; lnFolds += 1 } else {
                notes.append("LayerNorm '\(ln.name)' affine kept: folding moved outputs by \(dl) > \(bound)")
            }
        }
        notes.append("\(lnFolds) LayerNorm affine(s) folded into linear layers")

        // 5. Deduplicate identical constants (the γ = 1 and β = 0 vectors above, repeated biases…).
        var firstByContent = [String: String]()
        var dups = 0
        for name in g.constants.keys.sorted() {
            let t = g.constants[name]!
            let key = "\(t.dtype.rawValue)|\(t.shape)|" + SHA256.hash(t.storage.buffer).hexString
            if let keepName = firstByContent[key], g.constants[keepName]!.bitwiseEqual(t) {
                for (i, j) in g.uses(of: name) { g.nodes[i].inputs[j] = keepName }
                g.constants[name] = nil
                dups += 1
            } else {
                firstByContent[key] = name
            }
        }
        notes.append("\(dups) duplicate constant(s) merged")

        // 6. Dead code.
        let dead = g.eliminateDeadCode()
        notes.append("\(dead.nodes) dead node(s), \(dead.constants) unused constant(s) removed")
        let total = try delta(g)
        notes.append("max |Δ| on golden outputs \(total) (bound per fold \(bound))")
        return (notes, ["max_abs_delta": .number(Double(total)), "layernorm_folds": .number(Double(lnFolds)),
                        "attention_scale_folds": .number(Double(scaleFolds)), "bound": .number(Double(bound))])
    }
}
