import VMoECore
import VMoEIR

extension ONNXImporter {
    static func strides(_ s: [Int]) -> [Int] {
        var st = [Int](repeating: 1, count: s.count)
        var acc = 1
        for i in s.indices.reversed() { st[i] = acc; acc *= s[i] }
        return st
    }

    /// Axes of Squeeze/Unsqueeze/Reduce*: an input from opset 13 (18 for ReduceMean), else an attribute.
    func axesOf(_ n: ONNXNode, inputIndex: Int) throws -> [Int]? {
        if n.inputs.count > inputIndex, !n.inputs[inputIndex].isEmpty { return try ints(n.inputs[inputIndex], n) }
        return n.ints("axes")
    }

    /// Slice parameters per axis: (axis, start, end, step) clamped as ONNX specifies (step > 0 only).
    func sliceSpec(_ n: ONNXNode, shape: [Int]) throws -> [(Int, Int, Int, Int)] {
        let starts = try ints(n.inputs[1], n), ends = try ints(n.inputs[2], n)
        let axes = n.inputs.count > 3 && !n.inputs[3].isEmpty ? try ints(n.inputs[3], n) : Array(0..<starts.count)
        let steps = n.inputs.count > 4 && !n.inputs[4].isEmpty ? try ints(n.inputs[4], n) : [Int](repeating: 1, count: starts.count)
        var out = [(Int, Int, Int, Int)]()
        for i in axes.indices {
            let a = ONNXImporter.norm(axes[i], shape.count)
            guard a >= 0, a < shape.count, steps[i] >= 1 else { throw fail(n, "unsupported slice (axis \(axes[i]), step \(steps[i]))") }
            let d = shape[a]
            func clamp(_ v: Int) -> Int { let x = v < 0 ? v + d : v; return max(0, min(d, x)) }
            let s = clamp(starts[i]), e = clamp(ends[i] >= Int(Int32.max) ? d : ends[i])
            out.append((a, s, max(s, e), steps[i]))
        }
        return out
    }

    /// Layout ops on (small) constants, keeping each element's k·B + c form.
    mutating func foldLayout(_ n: ONNXNode, opset: Int) throws {
        let x = konst(n.inputs[0])!
        func gatherElems(_ shape: [Int], _ index: (Int) -> Int) -> K {
            let c = shape.reduce(1, *)
            let idx = (0..<c).map(index)
            return K(shape: shape, isInt: x.isInt, v: idx.map { x.v[$0] }, b: idx.map { x.b[$0] })
        }
        var out: K
        switch n.opType {
        case "Unsqueeze":
            guard let axes = try axesOf(n, inputIndex: 1) else { throw fail(n, "no axes") }
            var s = x.shape
            for a in axes.map({ ONNXImporter.norm($0, x.shape.count + axes.count) }).sorted() { s.insert(1, at: a) }
            out = x; out.shape = s
        case "Squeeze":
            let axes = try axesOf(n, inputIndex: 1)?.map { ONNXImporter.norm($0, x.shape.count) } ?? x.shape.indices.filter { x.shape[$0] == 1 }
            out = x; out.shape = x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] }
        case "Reshape", "Flatten":
            var target: [Int]
            if n.opType == "Flatten" {
                let a = ONNXImporter.norm(n.int("axis", 1), x.shape.count)
                target = [x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)]
            } else {
                target = try ints(n.inputs[1], n)
                for i in target.indices where target[i] == 0 && i < x.shape.count { target[i] = x.shape[i] }
                if let j = target.firstIndex(of: -1) { target[j] = x.count / max(1, target.filter { $0 != -1 }.reduce(1, *)) }
            }
            guard target.reduce(1, *) == x.count else { throw fail(n, "cannot reshape \(x.shape) to \(target)") }
            out = x; out.shape = target
        case "Transpose":
            let perm = n.ints("perm") ?? Array((0..<x.shape.count).reversed())
            let st = ONNXImporter.strides(x.shape)
            let shape = perm.map { x.shape[$0] }
            let ost = ONNXImporter.strides(shape)
            out = gatherElems(shape) { o in
                var rem = o, idx = 0
                for (i, p) in perm.enumerated() { idx += (rem / ost[i]) * st[p]; rem %= ost[i] }
                return idx
            }
        case "Gather":
            let idx = konst(n.inputs[1])!
            let a = ONNXImporter.norm(n.int("axis", 0), x.shape.count)
            let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *), d = x.shape[a]
            let shape = Array(x.shape[..<a]) + idx.shape + Array(x.shape[(a + 1)...])
            let m = idx.count
            out = gatherElems(shape) { o in
                let i = (o / inner) % m, outerI = o / (inner * m), inn = o % inner
                var j = idx.v[i].clampedInt; if j < 0 { j += d }
                return (outerI * d + max(0, min(d - 1, j))) * inner + inn
            }
            _ = outer
        case "Concat":
            let parts = n.inputs.map { konst($0)! }
            let a = ONNXImporter.norm(n.int("axis", 0), x.shape.count)
            let outer = x.shape[..<a].reduce(1, *)
            var shape = x.shape
            shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
            var v = [Double](), b = [Int]()
            for o in 0..<outer {
                for p in parts {
                    let len = p.shape[a...].reduce(1, *)
                    v += p.v[(o * len)..<((o + 1) * len)]; b += p.b[(o * len)..<((o + 1) * len)]
                }
            }
            out = K(shape: shape, isInt: x.isInt, v: v, b: b)
        case "Slice":
            out = x
            for (a, s, e, st) in try sliceSpec(n, shape: x.shape) {
                let cur = out
                let len = (e - s + st - 1) / st
                var shape = cur.shape; shape[a] = len
                let inner = cur.shape[(a + 1)...].reduce(1, *)
                let c = shape.reduce(1, *)
                let idx = (0..<c).map { o -> Int in
                    let inn = o % inner, j = (o / inner) % len, outerI = o / (inner * len)
                    return (outerI * cur.shape[a] + s + j * st) * inner + inn
                }
                out = K(shape: shape, isInt: cur.isInt, v: idx.map { cur.v[$0] }, b: idx.map { cur.b[$0] })
            }
        default:  // Expand
            let target = try ints(n.inputs[1], n)
            let r = max(target.count, x.shape.count)
            let xs = [Int](repeating: 1, count: r - x.shape.count) + x.shape
            let ts = [Int](repeating: 1, count: r - target.count) + target
            let shape = zip(xs, ts).map { max($0, $1) }
            let st = ONNXImporter.strides(xs), ost = ONNXImporter.strides(shape)
            out = gatherElems(shape) { o in
                var rem = o, idx = 0
                for i in 0..<r { let c = rem / ost[i]; rem %= ost[i]; idx += (xs[i] == 1 ? 0 : c) * st[i] }
                return idx
            }
        }
        setK(n.outputs[0], out)
    }
}
