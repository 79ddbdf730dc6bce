import VMoECore
import VMoEIR
import VMoERuntime

/// Seeded, platform-independent golden images: SplitMix64 integers turned into floats with exact
/// integer-to-float steps, then a 4-term Irwin–Hall sum (mean 0, variance 1).
public enum GoldenInputs {
    public static func make(count: Int, channels: Int, size: Int, seed: UInt64) -> Tensor {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let n = count * channels * size * size
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for _ in 0..<4 { s += Float(next() >> 40) * 0x1p-24 }
            values[i] = (s - 2) * 1.7320508
        }
        return Tensor(floats: values, shape: [count, channels, size, size])
    }

    /// For MoE graphs: `count` images chosen from 8 × count seeded candidates, greedily covering the most
    /// (router, expert) pairs, so `verify` exercises as many experts as the golden set can reach.
    /// Other graphs (and fixed-batch graphs) take the first `count` candidates, which is `make`.
    public static func covering(graph: Graph, count: Int, channels: Int, size: Int, seed: UInt64, threads: Int) throws -> Tensor {
        let routes = graph.nodes.compactMap { n -> String? in if case .route = n.op { return n.outputs[0] } else { return nil } }
        let fixedBatch = graph.inputs.first.map { $0.type.shape.first != .batch } ?? true
        guard !routes.isEmpty, !fixedBatch, let input = graph.inputs.first else {
            return make(count: count, channels: channels, size: size, seed: seed)
        }
        let pool = make(count: count * 8, channels: channels, size: size, seed: seed)
        let outs = try Executor(graph: graph, threads: threads).run([input.name: pool], fetch: routes)
        var pairs = [[String]](repeating: [], count: count * 8)
        for r in routes {
            let t = outs[r]!, k = t.shape[1], v = t.floatValues()
            for i in 0..<(count * 8) { for j in 0..<k { pairs[i].append("\(r):\(Int(v[i * k + j]))") } }
        }
        var covered = Set<String>(), chosen = [Int]()
        for _ in 0..<count {
            var best = -1, gain = -1
            for i in 0..<(count * 8) where !chosen.contains(i) {
                let g = Set(pairs[i]).subtracting(covered).count
                if g > gain { best = i; gain = g }
            }
            chosen.append(best)
            covered.formUnion(pairs[best])
        }
        chosen.sort()
        let per = channels * size * size, all = pool.floatValues()
        return Tensor(floats: chosen.flatMap { all[($0 * per)..<(($0 + 1) * per)] }, shape: [count, channels, size, size])
    }
}
