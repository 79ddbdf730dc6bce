import VMoECore

extension Op {
    /// Infers the output types from the input types, or explains (naming `node`) why the inputs don't fit.
    public func outputTypes(_ ins: [ValueType], node: String) throws -> [ValueType] {
        func fail(_ reason: String) -> IRError { .verifier(node: node, reason: reason) }
        func arity(_ n: ClosedRange<Int>) throws {
            guard n.contains(ins.count) else { throw fail("\(kind) takes \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound)–\(n.upperBound)") inputs, got \(ins.count)") }
        }
        func activation(_ i: Int, rank: Int? = nil) throws -> [Dim] {
            let t = ins[i]
            guard t.dtype == .float32 else { throw fail("input \(i) must be f32, is \(t)") }
            if let r = rank, t.shape.count != r { throw fail("input \(i) must have rank \(r), is \(t)") }
            return t.shape
        }
        func weight(_ i: Int, _ shape: [Int], _ what: String) throws {
            let t = ins[i]
            guard t.dtype.isFloat else { throw fail("\(what) must be a float tensor, is \(t)") }
            guard t.shape == shape.map({ Dim.fixed($0) }) else { throw fail("\(what) must be [\(shape.map(String.init).joined(separator: ","))], is \(t)") }
        }
        func fixed(_ d: Dim, _ what: String) throws -> Int {
            guard case let .fixed(n) = d else { throw fail("\(what) must be a fixed dimension") }
            return n
        }

        switch self {
        case let .patchEmbed(p):
            try arity(3...3)
            let s = try activation(0, rank: 4)
            guard s[0] == .batch else { throw fail("image's first axis must be the batch") }
            let c = try fixed(s[1], "channels"), h = try fixed(s[2], "height"), w = try fixed(s[3], "width")
            guard p > 0, h % p == 0, w % p == 0 else { throw fail("image \(h)x\(w) is not divisible by patch \(p)") }
            guard ins[1].shape.count == 4, case let .fixed(d) = ins[1].shape[0] else { throw fail("weight must be [D,C,p,p]") }
            try weight(1, [d, c, p, p], "patch weight")
            try weight(2, [d], "patch bias")
            return [ValueType(.float32, [.batch, .fixed((h / p) * (w / p)), .fixed(d)])]
        case .prependClassToken:
            try arity(2...2)
            let s = try activation(0, rank: 3)
            let n = try fixed(s[1], "tokens"), d = try fixed(s[2], "width")
            try weight(1, [1, 1, d], "class token")
            return [ValueType(.float32, [s[0], .fixed(n + 1), .fixed(d)])]
        case .add:
            try arity(2...2)
            let a = try activation(0)
            let b = ins[1].shape
            guard ins[1].dtype.isFloat else { throw fail("addend must be float, is \(ins[1])") }
            let batchBroadcast = b.count == a.count && b.first == .fixed(1) && Array(b.dropFirst()) == Array(a.dropFirst())
            let trailing = b.count <= a.count && Array(a.suffix(b.count)) == b
            guard batchBroadcast || trailing else { throw fail("cannot add \(ins[1]) to \(ins[0])") }
            if b.contains(.batch) && ins[1].dtype != .float32 { throw fail("a batched addend must be f32") }
            return [ins[0]]
        case .layerNorm:
            try arity(3...3)
            let s = try activation(0)
            guard let last = s.last else { throw fail("input must have rank ≥ 1") }
            let d = try fixed(last, "normalised axis")
            try weight(1, [d], "gamma")
            try weight(2, [d], "beta")
            return [ins[0]]
        case .linear:
            try arity(2...3)
            let s = try activation(0)
            guard let last = s.last else { throw fail("input must have rank ≥ 1") }
            let k = try fixed(last, "input features")
            guard ins[1].shape.count == 2, case let .fixed(n) = ins[1].shape[1] else { throw fail("weight must be [K,N], is \(ins[1])") }
            try weight(1, [k, n], "weight")
            if ins.count == 3 { try weight(2, [n], "bias") }
            return [ValueType(.float32, Array(s.dropLast()) + [.fixed(n)])]
        case .gelu:
            try arity(1...1)
            _ = try activation(0)
            return [ins[0]]
        case let .attention(heads, scale):
            guard scale.isFinite, scale > 0 else { throw fail("scale \(scale) must be positive and finite") }
            try arity(1...1)
            let s = try activation(0, rank: 3)
            let w = try fixed(s[2], "qkv width")
            guard w % 3 == 0, heads > 0, (w / 3) % heads == 0 else { throw fail("qkv width \(w) is not 3 × a multiple of \(heads) heads") }
            return [ValueType(.float32, [s[0], s[1], .fixed(w / 3)])]
        case let .route(spec):
            try arity(3...3)
            let s = try activation(0, rank: 3)
            let d = try fixed(s[2], "width")
            guard ins[1].shape.count == 2, case let .fixed(e) = ins[1].shape[1] else { throw fail("router weight must be [D,E]") }
            try weight(1, [d, e], "router weight")
            try weight(2, [e], "router bias")
            let allowed = spec.allowed ?? Array(0..<e)
            guard spec.allowed == nil || !allowed.isEmpty else { throw fail("allowed experts must not be empty") }
            guard spec.topK >= 1, spec.topK <= allowed.count else { throw fail("top_k \(spec.topK) must be in 1...\(allowed.count)") }
            guard Set(allowed).count == allowed.count, allowed.allSatisfy({ $0 >= 0 && $0 < e }), allowed == allowed.sorted() else {
                throw fail("allowed experts \(allowed) must be distinct, ascending, in 0..<\(e)")
            }
            return [ValueType(.int32, [s[0], .fixed(spec.topK)]), ValueType(.float32, [s[0], .fixed(spec.topK)])]
        case .moeMLP:
            try arity(7...7)
            let s = try activation(0, rank: 3)
            let d = try fixed(s[2], "width")
            guard ins[1].dtype == .int32, ins[1].shape.count == 2, ins[1].shape[0] == s[0] else { throw fail("experts must be i32 [B,k], is \(ins[1])") }
            guard ins[2].dtype == .float32, ins[2].shape == ins[1].shape else { throw fail("gates must be f32 like experts, is \(ins[2])") }
            guard ins[3].shape.count == 3, case let .fixed(e) = ins[3].shape[0], case let .fixed(h) = ins[3].shape[2] else {
                throw fail("fc1 must be [E,D,H], is \(ins[3])")
            }
            try weight(3, [e, d, h], "fc1")
            try weight(4, [e, h], "fc1 bias")
            try weight(5, [e, h, d], "fc2")
            try weight(6, [e, d], "fc2 bias")
            return [ins[0]]
        case let .selectToken(i):
            try arity(1...1)
            let s = try activation(0, rank: 3)
            let t = try fixed(s[1], "tokens")
            guard i >= 0, i < t else { throw fail("token \(i) out of range 0..<\(t)") }
            return [ValueType(.float32, [s[0], s[2]])]
        case let .dequantize(scheme):
            try arity(2...2)
            let q = ins[0], sc = ins[1]
            guard !q.shape.contains(.batch), !sc.shape.contains(.batch), q.shape.count == 2 || q.shape.count == 3 else {
                throw fail("quantized weight must be a fixed [K,N] or [E,K,N] tensor, is \(q)")
            }
            let dims = q.shape.map { d -> Int in if case let .fixed(n) = d { return n } else { return 0 } }
            let k = dims[dims.count - 2], n = dims[dims.count - 1], lead = Array(dims.dropLast(2))
            switch scheme {
            case .int8PerChannel:
                guard q.dtype == .int8 else { throw fail("int8 scheme needs i8 data, got \(q)") }
                guard sc.dtype == .float16, sc.shape == (lead + [n]).map({ Dim.fixed($0) }) else { throw fail("int8 scales must be f16 \(lead + [n]), got \(sc)") }
            case let .int4Grouped(g):
                guard q.dtype == .int4 else { throw fail("int4 scheme needs i4 data, got \(q)") }
                guard g >= 1, k % g == 0 else { throw fail("input axis \(k) is not a multiple of the group size \(g)") }
                guard sc.dtype == .float16, sc.shape == (lead + [k / g, n]).map({ Dim.fixed($0) }) else { throw fail("int4 scales must be f16 \(lead + [k / g, n]), got \(sc)") }
            }
            return [ValueType(.float32, q.shape)]
        case let .generic(g):
            return try g.outputTypes(ins, node: node)
        }
    }
}
