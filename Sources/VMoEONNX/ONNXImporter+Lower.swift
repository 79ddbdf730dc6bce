import Foundation
import VMoECore
import VMoEIR

extension ONNXImporter {
    func fail(_ n: ONNXNode, _ r: String) -> ONNXError { .node(path: path, node: n.name, reason: r) }

    func konst(_ name: String) -> K? { if case let .k(k)? = vals[name] { return k }; return nil }

    mutating func setK(_ name: String, _ k: K) { vals[name] = .k(k) }

    /// The IR value for an ONNX input: the dynamic value, or the constant materialised as an IR constant.
    mutating func ir(_ name: String, _ n: ONNXNode) throws -> String {
        switch vals[name] {
        case let .dyn(v)?: return v
        case let .k(k)?:
            guard !k.symbolic else { throw fail(n, "input '\(name)' depends on the batch size and cannot be stored as a constant") }
            let cname = "onnx." + (name.isEmpty ? "const\(counter)" : name)
            if builder.graph.constants[cname] == nil {
                let t = k.isInt ? ONNXTensor(shape: k.shape, dtype: .int64, floats: [], ints: k.v.map(\.clampedInt)).tensor()
                                : Tensor(floats: k.v.map { Float($0) }, shape: k.shape)
                builder.constant(cname, t)
            }
            vals[name] = .dyn(cname)
            return cname
        case nil: throw fail(n, "input '\(name)' is not defined")
        }
    }

    func type(_ v: String) -> ValueType { builder.graph.type(of: v) ?? ValueType(.float32, []) }

    mutating func emit(_ op: Op, _ inputs: [String], _ n: ONNXNode, outputs: [String]? = nil) throws -> [String] {
        counter += 1
        let name = "\(n.name)#\(counter)"
        do {
            let outs = try builder.node(name, op, inputs)
            for (o, v) in zip(outputs ?? n.outputs, outs) where !o.isEmpty { vals[o] = .dyn(v) }
            return outs
        } catch { throw fail(n, "\(error)") }
    }

    static func norm(_ axis: Int, _ rank: Int) -> Int { axis < 0 ? axis + rank : axis }

    /// Broadcasting element-wise evaluation of constants (with the k·B + c arithmetic where it is exact).
    func fold(_ a: K, _ b: K, _ n: ONNXNode, _ f: (Double, Int, Double, Int) -> (Double, Int)?) throws -> K {
        let r = max(a.shape.count, b.shape.count)
        let sa = [Int](repeating: 1, count: r - a.shape.count) + a.shape, sb = [Int](repeating: 1, count: r - b.shape.count) + b.shape
        var shape = [Int]()
        for i in 0..<r {
            guard sa[i] == sb[i] || sa[i] == 1 || sb[i] == 1 else { throw fail(n, "cannot broadcast \(a.shape) with \(b.shape)") }
            shape.append(max(sa[i], sb[i]))
        }
        let total = shape.reduce(1, *)
        var out = K(shape: shape, isInt: a.isInt && b.isInt, v: [Double](repeating: 0, count: total))
        func index(_ o: Int, _ s: [Int]) -> Int {
            var rem = o, idx = 0, mul = 1
            for i in (0..<r).reversed() {
                let c = rem % shape[i]; rem /= shape[i]
                idx += (s[i] == 1 ? 0 : c) * mul; mul *= s[i]
            }
            return idx
        }
        for o in 0..<total {
            let i = index(o, sa), j = index(o, sb)
            guard let (v, bb) = f(a.v[i], a.b[i], b.v[j], b.b[j]) else { throw fail(n, "cannot fold batch-dependent values") }
            out.v[o] = v; out.b[o] = bb
        }
        return out
    }

    func ints(_ name: String, _ n: ONNXNode) throws -> [Int] {
        guard let k = konst(name) else { throw fail(n, "input '\(name)' must be a constant") }
        guard !k.symbolic else { throw fail(n, "input '\(name)' depends on the batch size") }
        return k.v.map(\.clampedInt)
    }

    /// Target shape of Reshape/Expand from a folded shape tensor (0 copies the input's dim, -1 is inferred).
    func shapeDims(_ k: K, input: [Dim], reshape: Bool, _ n: ONNXNode) throws -> [Dim] {
        var dims = [Dim?]()
        var infer = -1
        for i in 0..<k.count {
            if reshape && k.b[i] == 0 && k.v[i] == 0 && i < input.count { dims.append(input[i]); continue }
            if reshape && k.b[i] == 0 && k.v[i] == -1 { infer = i; dims.append(nil); continue }
            guard let d = k.dim(i) else { throw fail(n, "shape element \(i) (\(k.b[i])·B + \(k.v[i].clampedInt)) is not a size") }
            dims.append(d)
        }
        if infer >= 0 {
            let (pIn, cIn) = GenericOp.volume(input)
            let (pOut, cOut) = GenericOp.volume(dims.compactMap { $0 })
            guard cOut > 0, cIn % cOut == 0, pIn >= pOut else { throw fail(n, "cannot infer the -1 dimension of \(k.v) from \(input)") }
            guard let d = Dim.affine(batch: pIn > pOut ? cIn / cOut : 0, constant: pIn > pOut ? 0 : cIn / cOut) else {
                throw fail(n, "cannot infer the -1 dimension")
            }
            dims[infer] = d
        }
        return dims.compactMap { $0 }
    }

    /// Minimum (inputs, outputs) of each supported op, checked before any is read.
    static let arity: [String: (Int, Int)] = [
        "Add": (2, 1), "Sub": (2, 1), "Mul": (2, 1), "Div": (2, 1), "Pow": (2, 1), "Equal": (2, 1), "Erf": (1, 1), "Sqrt": (1, 1),
        "Neg": (1, 1), "Exp": (1, 1), "Cast": (1, 1), "Where": (3, 1), "MatMul": (2, 1), "Gemm": (2, 1), "Conv": (2, 1),
        "Softmax": (1, 1), "LayerNormalization": (2, 1), "ReduceMean": (1, 1), "ReduceSum": (1, 1), "Reshape": (2, 1),
        "Flatten": (1, 1), "Transpose": (1, 1), "Concat": (1, 1), "Slice": (3, 1), "Split": (1, 1), "Squeeze": (1, 1),
        "Unsqueeze": (1, 1), "Gather": (2, 1), "GatherND": (2, 1), "Expand": (2, 1), "TopK": (2, 2), "Shape": (1, 1),
        "Constant": (0, 1), "ConstantOfShape": (1, 1), "Identity": (1, 1), "Dropout": (1, 1), "Range": (3, 1),
    ]

    mutating func lower(_ n: ONNXNode) throws {
        let (minIn, minOut) = ONNXImporter.arity[n.opType] ?? (0, 1)
        guard n.inputs.count >= minIn, n.outputs.count >= minOut, !n.outputs[0].isEmpty,
              n.inputs.prefix(minIn).allSatisfy({ !$0.isEmpty }) else {
            throw fail(n, "\(n.opType) needs at least \(minIn) input(s) and \(minOut) output(s), has \(n.inputs.count) and \(n.outputs.count)")
        }
        let allConst = n.inputs.allSatisfy { $0.isEmpty || konst($0) != nil }
        let opset = model.opsets[""] ?? 17
        let foldable: Set<String> = ["Range", "Add", "Sub", "Mul", "Div", "Equal", "Pow", "Where", "Cast", "Sqrt", "Neg", "Erf", "Exp"]
        let layout: Set<String> = ["Unsqueeze", "Squeeze", "Reshape", "Flatten", "Gather", "Concat", "Slice", "Transpose", "Expand"]
        // A constant reshaped or expanded to a batch-dependent shape becomes a runtime value.
        let batchShaped = ["Expand", "Reshape"].contains(n.opType) && n.inputs.count > 1 && konst(n.inputs[1])?.symbolic == true
        if (foldable.contains(n.opType) && !allConst) || (layout.contains(n.opType) && !(allConst && constantLayout(n) && !batchShaped)) {
            return try lowerDynamic(n, opset: opset)
        }
        switch n.opType {
        case "Constant":
            if case let .tensor(t)? = n.attributes["value"] { setK(n.outputs[0], K(t)) }
            else if case let .float(f)? = n.attributes["value_float"] { setK(n.outputs[0], K(shape: [], isInt: false, v: [Double(f)])) }
            else if case let .floats(f)? = n.attributes["value_floats"] { setK(n.outputs[0], K(shape: [f.count], isInt: false, v: f.map(Double.init))) }
            else if case let .int(i)? = n.attributes["value_int"] { setK(n.outputs[0], K(shape: [], isInt: true, v: [Double(i)])) }
            else if case let .ints(i)? = n.attributes["value_ints"] { setK(n.outputs[0], K(shape: [i.count], isInt: true, v: i.map(Double.init))) }
            else { throw fail(n, "Constant without a supported value attribute") }
        case "Identity", "Dropout":
            vals[n.outputs[0]] = vals[n.inputs[0]]
        case "Shape":
            let shape: [Dim]
            switch vals[n.inputs[0]] {
            case let .k(k)?: shape = k.shape.map { .fixed($0) }
            case let .dyn(v)?: shape = type(v).shape
            case nil: throw fail(n, "input not defined")
            }
            let r = shape.count
            let start = ONNXImporter.norm(n.int("start", 0), r), end = min(r, ONNXImporter.norm(n.int("end", r), r))
            let sel = Array(shape[max(0, start)..<max(start, end)])
            setK(n.outputs[0], K(shape: [sel.count], isInt: true, v: sel.map { Double($0.affine.constant) }, b: sel.map { $0.affine.batch }))
        case "ConstantOfShape":
            var value = 0.0, isInt = false
            if case let .tensor(t)? = n.attributes["value"] { value = t.values.first ?? 0; isInt = t.isInteger }
            if let k = konst(n.inputs[0]), k.symbolic {
                // A batch-sized fill (zeros_like of an activation): the scalar expanded at run time.
                let cn = "\(n.name)#value"
                setK(cn, K(shape: [], isInt: isInt, v: [value]))
                _ = try emit(.generic(.expand(shape: try shapeDims(k, input: [], reshape: false, n))), [try ir(cn, n)], n)
                return
            }
            let dims = try ints(n.inputs[0], n)
            guard dims.allSatisfy({ $0 >= 0 }), let c = elementCount(dims), c <= 1 << 24 else { throw fail(n, "bad shape \(dims)") }
            setK(n.outputs[0], K(shape: dims, isInt: isInt, v: [Double](repeating: value, count: c)))
        case "Range":
            guard let s = konst(n.inputs[0])?.v.first, let e = konst(n.inputs[1])?.v.first, let d = konst(n.inputs[2])?.v.first, d != 0 else {
                throw fail(n, "Range needs scalar start, limit and a non-zero delta")
            }
            let c = max(0, min(1 << 24, ((e - s) / d).rounded(.up).clampedInt))
            setK(n.outputs[0], K(shape: [c], isInt: konst(n.inputs[0])!.isInt, v: (0..<c).map { s + Double($0) * d }))
        case "Add", "Sub", "Mul", "Div", "Equal", "Pow":
            let a = konst(n.inputs[0])!, b = konst(n.inputs[1])!
            let isInt = a.isInt && b.isInt
            let r = try fold(a, b, n) { x, xb, y, yb in
                switch n.opType {
                case "Add": return (x + y, xb + yb)
                case "Sub": return (x - y, xb - yb)
                case "Mul":
                    if xb != 0 && yb != 0 { return nil }
                    return (x * y, xb * y.clampedInt + yb * x.clampedInt)
                case "Div":
                    guard yb == 0, y != 0 else { return nil }
                    if isInt {
                        guard xb % y.clampedInt == 0 else { return nil }
                        return ((x / y).rounded(.towardZero), xb / y.clampedInt)
                    }
                    guard xb == 0 else { return nil }
                    return (Double(Float(x) / Float(y)), 0)
                case "Pow": return xb == 0 && yb == 0 ? (Double(powf(Float(x), Float(y))), 0) : nil
                default:  // Equal: a batch-dependent size is ≥ 1, so it never equals a constant ≤ 0
                    if xb == yb { return (x == y ? 1 : 0, 0) }
                    if (xb != 0 && yb == 0 && y - x <= 0) || (yb != 0 && xb == 0 && x - y <= 0) { return (0, 0) }
                    return nil
                }
            }
            var out = r
            out.isInt = n.opType == "Equal" ? true : isInt
            setK(n.outputs[0], out)
        case "Where":
            let c = konst(n.inputs[0])!, a = konst(n.inputs[1])!, b = konst(n.inputs[2])!
            let ca = try fold(c, a, n) { x, _, y, yb in (x != 0 ? y : .nan, x != 0 ? yb : Int.min) }
            let r = try fold(ca, b, n) { x, xb, y, yb in xb == Int.min ? (y, yb) : (x, xb) }
            setK(n.outputs[0], K(shape: r.shape, isInt: a.isInt, v: r.v, b: r.b))
        case "Cast":
            var k = konst(n.inputs[0])!
            let to = n.int("to", 1)
            let isInt = [2, 3, 5, 6, 7, 9, 12, 13].contains(to)
            if isInt && !k.isInt { k.v = k.v.map { $0.rounded(.towardZero) } }
            if to == 9 { k.v = k.v.map { $0 != 0 ? 1 : 0 } }
            k.isInt = isInt
            setK(n.outputs[0], k)
        case "Sqrt", "Neg", "Erf", "Exp":
            var k = konst(n.inputs[0])!
            guard !k.symbolic else { throw fail(n, "cannot fold batch-dependent values") }
            k.v = k.v.map { x in
                switch n.opType {
                case "Sqrt": return Double(Float(x).squareRoot())
                case "Neg": return -x
                case "Exp": return Double(Foundation.exp(Float(x)))
                default: return Double(Foundation.erf(Float(x)))
                }
            }
            k.isInt = k.isInt && n.opType == "Neg"
            setK(n.outputs[0], k)
        case "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Gather", "Concat", "Slice", "Transpose", "Expand":
            try foldLayout(n, opset: opset)
        default:
            try lowerDynamic(n, opset: opset)
        }
    }

    /// Layout ops on constants are folded only for small (shape-like) tensors; weights stay as they are
    /// and the ops run as IR nodes, so large constants are never duplicated.
    func constantLayout(_ n: ONNXNode) -> Bool {
        n.inputs.allSatisfy { $0.isEmpty || (konst($0)?.count ?? 0) <= 4096 }
    }
}
