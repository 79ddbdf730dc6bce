import VMoECore
import VMoEIR

extension ONNXImporter {
    /// Lowers a node with at least one input computed from the images.
    mutating func lowerDynamic(_ n: ONNXNode, opset: Int) throws {
        func input(_ i: Int) throws -> String { try ir(n.inputs[i], n) }
        func rank(_ v: String) -> Int { type(v).shape.count }
        switch n.opType {
        case "Add", "Sub", "Mul", "Div", "Equal":
            let op: BinaryOp = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Equal": .equal][n.opType]!
            _ = try emit(.generic(.binary(op)), [try input(0), try input(1)], n)
        case "Pow":
            guard let e = konst(n.inputs[1]), e.count == 1, [0.5, 1, 2, 3].contains(e.v[0]) else {
                throw fail(n, "Pow is supported with a constant exponent of 0.5, 1, 2 or 3")
            }
            _ = try emit(.generic(.binary(.pow)), [try input(0), try input(1)], n)
        case "Erf", "Sqrt", "Neg", "Exp":
            let op: UnaryOp = ["Erf": .erf, "Sqrt": .sqrt, "Neg": .neg, "Exp": .exp][n.opType]!
            _ = try emit(.generic(.unary(op, to: .float32)), [try input(0)], n)
        case "Cast":
            let to = n.int("to", 1)
            let dt: DType
            switch to {
            case 1, 10, 11, 16: dt = .float32
            case 6: dt = .int32
            case 7: dt = .int64
            case 9, 2: dt = .uint8
            case 3: dt = .int8
            default: throw fail(n, "Cast to element type \(to) is not supported")
            }
            let x = try input(0)
            if type(x).dtype == dt { vals[n.outputs[0]] = .dyn(x) } else { _ = try emit(.generic(.unary(.cast, to: dt)), [x], n) }
        case "Where":
            _ = try emit(.generic(.select), [try input(0), try input(1), try input(2)], n)
        case "MatMul":
            _ = try emit(.generic(.matmul), [try input(0), try input(1)], n)
        case "Gemm":
            let a = try input(0)
            guard n.int("transA", 0) == 0, n.float("alpha", 1) == 1, n.float("beta", 1) == 1, rank(a) == 2 else {
                throw fail(n, "Gemm is supported with transA = 0, alpha = beta = 1")
            }
            guard var w = konst(n.inputs[1]), !w.symbolic, w.shape.count == 2 else { throw fail(n, "Gemm's B must be a constant matrix") }
            if n.int("transB", 0) == 1 {
                let r = w.shape[0], c = w.shape[1]
                w = K(shape: [c, r], isInt: false, v: (0..<(r * c)).map { i in w.v[(i % r) * c + i / r] })
            }
            let wn = "\(n.inputs[1])#KN"
            setK(wn, w)
            var ins = [a, try ir(wn, n)]
            if n.inputs.count > 2, !n.inputs[2].isEmpty {
                guard let c = konst(n.inputs[2]), c.count == w.shape[1] else { throw fail(n, "Gemm's C must be a constant vector of \(w.shape[1])") }
                var cc = c; cc.shape = [c.count]
                let cn = "\(n.inputs[2])#N"
                setK(cn, cc)
                ins.append(try ir(cn, n))
            }
            _ = try emit(.linear, ins, n)
        case "Conv":
            let x = try input(0)
            guard n.int("group", 1) == 1, (n.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail(n, "only group 1, dilation 1 convolutions are supported") }
            let strides = n.ints("strides") ?? [1, 1], pads = n.ints("pads") ?? [0, 0, 0, 0]
            if case let .string(ap)? = n.attributes["auto_pad"], ap != "NOTSET", ap != "VALID" { throw fail(n, "auto_pad \(ap) is not supported") }
            var ins = [x, try input(1)]
            if n.inputs.count > 2, !n.inputs[2].isEmpty { ins.append(try input(2)) }
            _ = try emit(.generic(.conv(stride: strides, pads: pads)), ins, n)
        case "Softmax":
            let x = try input(0)
            _ = try emit(.generic(.softmax(axis: ONNXImporter.norm(n.int("axis", -1), rank(x)))), [x], n)
        case "LayerNormalization":
            let x = try input(0)
            guard ONNXImporter.norm(n.int("axis", -1), rank(x)) == rank(x) - 1 else { throw fail(n, "LayerNormalization is supported over the last axis only") }
            var ins = [x, try input(1)]
            if n.inputs.count > 2, !n.inputs[2].isEmpty { ins.append(try input(2)) } else {
                let d = type(x).shape.last.map { $0.resolved(batch: 1) } ?? 0
                let zn = "\(n.name)#beta"
                setK(zn, K(shape: [d], isInt: false, v: [Double](repeating: 0, count: d)))
                ins.append(try ir(zn, n))
            }
            _ = try emit(.layerNorm(epsilon: n.float("epsilon", 1e-5)), ins, n, outputs: [n.outputs[0]])
        case "ReduceMean", "ReduceSum":
            let x = try input(0)
            let attrAxes = n.opType == "ReduceMean" && opset < 18
            var axes = attrAxes ? n.ints("axes") : try axesOf(n, inputIndex: 1)
            if axes == nil || axes!.isEmpty {
                if n.int("noop_with_empty_axes", 0) == 1 { vals[n.outputs[0]] = .dyn(x); return }
                axes = Array(0..<rank(x))
            }
            let ax = axes!.map { ONNXImporter.norm($0, rank(x)) }.sorted()
            _ = try emit(.generic(.reduce(n.opType == "ReduceMean" ? .mean : .sum, axes: ax, keepDims: n.int("keepdims", 1) == 1)), [x], n)
        case "Reshape":
            let x = try input(0)
            guard let s = konst(n.inputs[1]) else { throw fail(n, "Reshape's shape must be computable at import (got a runtime value)") }
            _ = try emit(.generic(.reshape(shape: try shapeDims(s, input: type(x).shape, reshape: true, n))), [x], n)
        case "Flatten":
            let x = try input(0)
            let sh = type(x).shape, a = ONNXImporter.norm(n.int("axis", 1), sh.count)
            let (p0, c0) = GenericOp.volume(Array(sh[..<a])), (p1, c1) = GenericOp.volume(Array(sh[a...]))
            guard let d0 = Dim.affine(batch: p0 > 0 ? c0 : 0, constant: p0 > 0 ? 0 : c0),
                  let d1 = Dim.affine(batch: p1 > 0 ? c1 : 0, constant: p1 > 0 ? 0 : c1), p0 + p1 <= 1 else { throw fail(n, "cannot flatten \(sh)") }
            _ = try emit(.generic(.reshape(shape: [d0, d1])), [x], n)
        case "Squeeze", "Unsqueeze":
            let x = try input(0)
            var sh = type(x).shape
            if n.opType == "Unsqueeze" {
                guard let axes = try axesOf(n, inputIndex: 1) else { throw fail(n, "Unsqueeze needs axes") }
                for a in axes.map({ ONNXImporter.norm($0, sh.count + axes.count) }).sorted() { sh.insert(.fixed(1), at: a) }
            } else {
                let axes = try axesOf(n, inputIndex: 1)?.map { ONNXImporter.norm($0, sh.count) } ?? sh.indices.filter { sh[$0] == .fixed(1) }
                guard axes.allSatisfy({ sh[$0] == .fixed(1) }) else { throw fail(n, "cannot squeeze axes \(axes) of \(type(x))") }
                sh = sh.indices.filter { !axes.contains($0) }.map { sh[$0] }
            }
            _ = try emit(.generic(.reshape(shape: sh)), [x], n)
        case "Transpose":
            let x = try input(0)
            _ = try emit(.generic(.transpose(perm: n.ints("perm") ?? Array((0..<rank(x)).reversed()))), [x], n)
        case "Concat":
            let ins = try n.inputs.indices.map { try input($0) }
            _ = try emit(.generic(.concat(axis: ONNXImporter.norm(n.int("axis", 0), rank(ins[0])))), ins, n)
        case "Slice":
            var x = try input(0)
            let sh = type(x).shape
            let resolved = sh.map { d -> Int in if case let .fixed(v) = d { return v } else { return Int(Int32.max) } }
            for (a, s, e, st) in try sliceSpec(n, shape: resolved) {
                if case .fixed = sh[a] {} else {
                    guard s == 0, e == Int(Int32.max), st == 1 else { throw fail(n, "slicing the batch axis is not supported") }
                    continue
                }
                if s == 0, e == resolved[a], st == 1 { continue }
                x = try emit(.generic(.slice(axis: a, start: s, end: e, step: st)), [x], n, outputs: [""])[0]
            }
            vals[n.outputs[0]] = .dyn(x)
        case "Split":
            let x = try input(0)
            let sh = type(x).shape, a = ONNXImporter.norm(n.int("axis", 0), sh.count)
            guard case let .fixed(d) = sh[a] else { throw fail(n, "cannot split the batch axis") }
            var sizes = n.inputs.count > 1 && !n.inputs[1].isEmpty ? try ints(n.inputs[1], n) : (n.ints("split") ?? [])
            if sizes.isEmpty {
                let parts = n.int("num_outputs", n.outputs.count)
                let each = (d + parts - 1) / parts
                sizes = (0..<parts).map { min(each, d - $0 * each) }
            }
            var start = 0
            for (i, sz) in sizes.enumerated() where i < n.outputs.count {
                _ = try emit(.generic(.slice(axis: a, start: start, end: start + sz, step: 1)), [x], n, outputs: [n.outputs[i]])
                start += sz
            }
        case "Gather":
            let x = try input(0)
            _ = try emit(.generic(.gather(axis: ONNXImporter.norm(n.int("axis", 0), rank(x)))), [x, try input(1)], n)
        case "GatherND":
            guard n.int("batch_dims", 0) == 0 else { throw fail(n, "GatherND is supported with batch_dims = 0") }
            _ = try emit(.generic(.gatherND), [try input(0), try input(1)], n)
        case "Expand":
            let x = try input(0)
            guard let s = konst(n.inputs[1]) else { throw fail(n, "Expand's shape must be computable at import") }
            _ = try emit(.generic(.expand(shape: try shapeDims(s, input: type(x).shape, reshape: false, n))), [x], n)
        case "TopK":
            let x = try input(0)
            guard let k = try? ints(n.inputs[1], n).first, n.int("largest", 1) == 1 else { throw fail(n, "TopK needs a constant k and largest = 1") }
            _ = try emit(.generic(.topK(k: k, axis: ONNXImporter.norm(n.int("axis", -1), rank(x)))), [x], n)
        default:
            throw fail(n, "\(n.opType) on values computed from the input is not supported")
        }
    }
}
