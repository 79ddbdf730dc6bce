import VMoECore

extension GenericOp {
    /// NumPy broadcasting of two shapes.
    static func broadcast(_ a: [Dim], _ b: [Dim]) -> [Dim]? {
        let n = max(a.count, b.count)
        let pa = [Dim](repeating: .fixed(1), count: n - a.count) + a, pb = [Dim](repeating: .fixed(1), count: n - b.count) + b
        var out = [Dim]()
        for (x, y) in zip(pa, pb) {
            if x == y { out.append(x) } else if x == .fixed(1) { out.append(y) } else if y == .fixed(1) { out.append(x) } else { return nil }
        }
        return out
    }

    /// (power of B, numeric factor) of a shape's element count, to compare reshapes symbolically.
    public static func volume(_ s: [Dim]) -> (Int, Int) {
        s.reduce((0, 1)) { acc, d in
            let (k, c) = d.affine
            return k > 0 ? (acc.0 + 1, acc.1 * k) : (acc.0, acc.1 * c)
        }
    }

    func outputTypes(_ ins: [ValueType], node: String) throws -> [ValueType] {
        func fail(_ r: String) -> IRError { .verifier(node: node, reason: "\(name): \(r)") }
        func need(_ n: ClosedRange<Int>) throws { guard n.contains(ins.count) else { throw fail("takes \(n) inputs, got \(ins.count)") } }
        func axisOK(_ a: Int, _ rank: Int) throws { guard a >= 0, a < rank else { throw fail("axis \(a) out of range for rank \(rank)") } }
        func fixed(_ d: Dim, _ what: String) throws -> Int {
            guard case let .fixed(n) = d else { throw fail("\(what) must be a fixed dimension, is \(d)") }
            return n
        }
        switch self {
        case let .binary(op):
            try need(2...2)
            guard let s = GenericOp.broadcast(ins[0].shape, ins[1].shape) else { throw fail("cannot broadcast \(ins[0]) with \(ins[1])") }
            let dt: DType = op == .equal ? .uint8 : (ins[0].dtype.isFloat || ins[1].dtype.isFloat ? .float32 : ins[0].dtype)
            return [ValueType(dt, s)]
        case let .unary(op, to):
            try need(1...1)
            return [ValueType(op == .cast ? to : (ins[0].dtype.isFloat ? .float32 : ins[0].dtype), ins[0].shape)]
        case .select:
            try need(3...3)
            guard let s1 = GenericOp.broadcast(ins[0].shape, ins[1].shape), let s = GenericOp.broadcast(s1, ins[2].shape) else {
                throw fail("cannot broadcast \(ins[0]), \(ins[1]), \(ins[2])")
            }
            return [ValueType(ins[1].dtype.isFloat ? .float32 : ins[1].dtype, s)]
        case .matmul:
            try need(2...2)
            let a = ins[0].shape, b = ins[1].shape
            guard a.count >= 2, b.count >= 2 else { throw fail("operands must have rank ≥ 2, got \(ins[0]) and \(ins[1])") }
            guard a[a.count - 1] == b[b.count - 2] else { throw fail("inner dimensions differ: \(ins[0]) × \(ins[1])") }
            guard let lead = GenericOp.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2))) else { throw fail("cannot broadcast batch axes of \(ins[0]) and \(ins[1])") }
            return [ValueType(.float32, lead + [a[a.count - 2], b[b.count - 1]])]
        case let .softmax(axis):
            try need(1...1)
            try axisOK(axis, ins[0].shape.count)
            return [ValueType(.float32, ins[0].shape)]
        case let .reduce(_, axes, keep):
            try need(1...1)
            for a in axes { try axisOK(a, ins[0].shape.count) }
            guard Set(axes).count == axes.count, !axes.isEmpty else { throw fail("axes \(axes) must be distinct and non-empty") }
            var s = [Dim]()
            for (i, d) in ins[0].shape.enumerated() {
                if axes.contains(i) { if keep { s.append(.fixed(1)) } } else { s.append(d) }
            }
            return [ValueType(.float32, s)]
        case let .reshape(shape):
            try need(1...1)
            guard GenericOp.volume(shape) == GenericOp.volume(ins[0].shape) else { throw fail("cannot reshape \(ins[0]) to \(shape)") }
            return [ValueType(ins[0].dtype, shape)]
        case let .transpose(perm):
            try need(1...1)
            guard perm.sorted() == Array(0..<ins[0].shape.count) else { throw fail("perm \(perm) is not a permutation of rank \(ins[0].shape.count)") }
            return [ValueType(ins[0].dtype, perm.map { ins[0].shape[$0] })]
        case let .concat(axis):
            guard !ins.isEmpty else { throw fail("needs inputs") }
            let r = ins[0].shape.count
            try axisOK(axis, r)
            var k = 0, c = 0
            for t in ins {
                guard t.shape.count == r else { throw fail("ranks differ") }
                for i in 0..<r where i != axis && t.shape[i] != ins[0].shape[i] { throw fail("shapes \(ins.map(\.description)) differ off the axis") }
                k += t.shape[axis].affine.batch; c += t.shape[axis].affine.constant
            }
            guard let d = Dim.affine(batch: k, constant: c) else { throw fail("concatenated axis mixes batch and fixed sizes") }
            var s = ins[0].shape
            s[axis] = d
            return [ValueType(ins[0].dtype, s)]
        case let .slice(axis, start, end, step):
            try need(1...1)
            try axisOK(axis, ins[0].shape.count)
            let n = try fixed(ins[0].shape[axis], "sliced axis")
            guard step >= 1, start >= 0, end <= n, start <= end else { throw fail("bad slice \(start):\(end):\(step) of \(n)") }
            var s = ins[0].shape
            s[axis] = .fixed((end - start + step - 1) / step)
            return [ValueType(ins[0].dtype, s)]
        case let .gather(axis):
            try need(2...2)
            try axisOK(axis, ins[0].shape.count)
            _ = try fixed(ins[0].shape[axis], "gathered axis")
            guard !ins[1].dtype.isFloat else { throw fail("indices must be integers, are \(ins[1])") }
            let d = ins[0].shape
            return [ValueType(ins[0].dtype, Array(d[..<axis]) + ins[1].shape + Array(d[(axis + 1)...]))]
        case .gatherND:
            try need(2...2)
            guard let last = ins[1].shape.last, case let .fixed(m) = last, m >= 1, m <= ins[0].shape.count else { throw fail("indices' last axis must be fixed and ≤ data rank") }
            for d in ins[0].shape.prefix(m) { _ = try fixed(d, "indexed axis") }
            guard !ins[1].dtype.isFloat else { throw fail("indices must be integers") }
            return [ValueType(ins[0].dtype, Array(ins[1].shape.dropLast()) + Array(ins[0].shape.dropFirst(m)))]
        case let .expand(shape):
            try need(1...1)
            guard let s = GenericOp.broadcast(ins[0].shape, shape) else { throw fail("cannot expand \(ins[0]) to \(shape)") }
            return [ValueType(ins[0].dtype, s)]
        case let .topK(k, axis):
            try need(1...1)
            try axisOK(axis, ins[0].shape.count)
            let n = try fixed(ins[0].shape[axis], "top-k axis")
            guard k >= 1, k <= n else { throw fail("k = \(k) outside 1...\(n)") }
            var s = ins[0].shape
            s[axis] = .fixed(k)
            return [ValueType(.float32, s), ValueType(.int64, s)]
        case let .conv(stride, pads):
            try need(2...3)
            let x = ins[0].shape, w = ins[1].shape
            guard x.count == 4, w.count == 4, stride.count == 2, pads.count == 4, stride.allSatisfy({ $0 >= 1 }), pads.allSatisfy({ $0 >= 0 }) else {
                throw fail("only 2-D NCHW convolution is supported")
            }
            let c = try fixed(x[1], "channels"), h = try fixed(x[2], "height"), wd = try fixed(x[3], "width")
            let o = try fixed(w[0], "filters"), kh = try fixed(w[2], "kernel"), kw = try fixed(w[3], "kernel")
            guard try fixed(w[1], "weight channels") == c else { throw fail("weight \(ins[1]) does not match \(c) input channels (group 1 only)") }
            if ins.count == 3 { guard ins[2].shape == [.fixed(o)] else { throw fail("bias must be [\(o)]") } }
            let oh = (h + pads[0] + pads[2] - kh) / stride[0] + 1, ow = (wd + pads[1] + pads[3] - kw) / stride[1] + 1
            guard oh >= 1, ow >= 1 else { throw fail("kernel larger than the padded input") }
            return [ValueType(.float32, [x[0], .fixed(o), .fixed(oh), .fixed(ow)])]
        }
    }
}
