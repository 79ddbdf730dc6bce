import VMoECore

/// Element-wise binary operations with NumPy (ONNX multidirectional) broadcasting.
public enum BinaryOp: String, Codable, Sendable { case add, sub, mul, div, pow, equal }
/// Element-wise unary operations. `cast` converts the value's element type (floats ↔ ints, exact for
/// the small integers index tensors hold).
public enum UnaryOp: String, Codable, Sendable { case erf, sqrt, neg, exp, cast }
public enum ReduceOp: String, Codable, Sendable { case mean, sum }

/// The generic ops an ONNX graph lowers to where no pattern raised it to the model-level ops. Each has
/// one deterministic definition (schemas/vmoe-format-v1.md, "Generic ops").
public enum GenericOp: Equatable, Sendable {
    case binary(BinaryOp)
    case unary(UnaryOp, to: DType)
    /// cond, a, b → broadcast; cond ≠ 0 picks a.
    case select
    /// [..., M, K] × [..., K, N], leading axes broadcast; Σ_k fma ascending from 0.
    case matmul
    case softmax(axis: Int)
    /// Reduces `axes` in row-major order of the reduced elements, sequentially from 0; mean = sum / count.
    case reduce(ReduceOp, axes: [Int], keepDims: Bool)
    case reshape(shape: [Dim])
    case transpose(perm: [Int])
    case concat(axis: Int)
    /// One axis: elements start, start+step, … < end (step ≥ 1, bounds already clamped).
    case slice(axis: Int, start: Int, end: Int, step: Int)
    /// data, indices (integers; negative count from the end) → data.shape[..<axis] + indices.shape + data.shape[axis+1...]
    case gather(axis: Int)
    /// ONNX GatherND with batch_dims = 0.
    case gatherND
    case expand(shape: [Dim])
    /// Largest k along `axis`, sorted descending, ties to the lower index → values, indices (i64).
    case topK(k: Int, axis: Int)
    /// NCHW 2-D convolution, group 1, dilation 1: x, w [O,C,kh,kw], bias [O] (optional). Each output is
    /// Σ fma over (c, ky, kx) ascending from 0, then + bias.
    case conv(stride: [Int], pads: [Int])
}

extension GenericOp {
    public var name: String {
        switch self {
        case let .binary(b): return b.rawValue
        case let .unary(u, _): return u.rawValue
        case .select: return "where"
        case .matmul: return "matmul"
        case .softmax: return "softmax"
        case let .reduce(r, _, _): return "reduce_" + r.rawValue
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .concat: return "concat"
        case .slice: return "slice"
        case .gather: return "gather"
        case .gatherND: return "gather_nd"
        case .expand: return "expand"
        case .topK: return "top_k"
        case .conv: return "conv"
        }
    }

    var attributes: String {
        switch self {
        case let .unary(u, t): return u == .cast ? "to=\(t.name)" : ""
        case let .softmax(a): return "axis=\(a)"
        case let .reduce(_, a, k): return "axes=\(a), keepdims=\(k)"
        case let .reshape(s), let .expand(s): return "shape=[\(s.map(\.description).joined(separator: ","))]"
        case let .transpose(p): return "perm=\(p)"
        case let .concat(a): return "axis=\(a)"
        case let .slice(a, s, e, st): return "axis=\(a), \(s):\(e):\(st)"
        case let .gather(a): return "axis=\(a)"
        case let .topK(k, a): return "k=\(k), axis=\(a)"
        case let .conv(s, p): return "stride=\(s), pads=\(p)"
        case .binary, .select, .matmul, .gatherND: return ""
        }
    }
}

extension GenericOp: Codable {
    private enum Keys: String, CodingKey { case name, op, to, axis, axes, keepdims, shape, perm, start, end, step, k, stride, pads }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        func dims() throws -> [Dim] {
            let raw = try c.decode([Int].self, forKey: .shape)
            let d = raw.compactMap { Dim(code: $0) }
            guard d.count == raw.count, d.count <= 8 else { throw DecodingError.dataCorruptedError(forKey: .shape, in: c, debugDescription: "bad shape") }
            return d
        }
        let name = try c.decode(String.self, forKey: .name)
        if let b = BinaryOp(rawValue: name) { self = .binary(b); return }
        if let u = UnaryOp(rawValue: name) {
            let t = try c.decode(String.self, forKey: .to)
            guard let dt = DType(name: t) else { throw DecodingError.dataCorruptedError(forKey: .to, in: c, debugDescription: "dtype") }
            self = .unary(u, to: dt); return
        }
        switch name {
        case "where": self = .select
        case "matmul": self = .matmul
        case "softmax": self = .softmax(axis: try c.decode(Int.self, forKey: .axis))
        case "reduce_mean", "reduce_sum":
            self = .reduce(name == "reduce_mean" ? .mean : .sum, axes: try c.decode([Int].self, forKey: .axes), keepDims: try c.decode(Bool.self, forKey: .keepdims))
        case "reshape": self = .reshape(shape: try dims())
        case "expand": self = .expand(shape: try dims())
        case "transpose": self = .transpose(perm: try c.decode([Int].self, forKey: .perm))
        case "concat": self = .concat(axis: try c.decode(Int.self, forKey: .axis))
        case "slice": self = .slice(axis: try c.decode(Int.self, forKey: .axis), start: try c.decode(Int.self, forKey: .start),
                                    end: try c.decode(Int.self, forKey: .end), step: try c.decode(Int.self, forKey: .step))
        case "gather": self = .gather(axis: try c.decode(Int.self, forKey: .axis))
        case "gather_nd": self = .gatherND
        case "top_k": self = .topK(k: try c.decode(Int.self, forKey: .k), axis: try c.decode(Int.self, forKey: .axis))
        case "conv": self = .conv(stride: try c.decode([Int].self, forKey: .stride), pads: try c.decode([Int].self, forKey: .pads))
        default: throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "unknown generic op '\(name)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(name, forKey: .name)
        switch self {
        case let .unary(_, t): try c.encode(t.name, forKey: .to)
        case let .softmax(a), let .concat(a), let .gather(a): try c.encode(a, forKey: .axis)
        case let .reduce(_, a, k): try c.encode(a, forKey: .axes); try c.encode(k, forKey: .keepdims)
        case let .reshape(s), let .expand(s): try c.encode(s.map(\.code), forKey: .shape)
        case let .transpose(p): try c.encode(p, forKey: .perm)
        case let .slice(a, s, e, st):
            try c.encode(a, forKey: .axis); try c.encode(s, forKey: .start); try c.encode(e, forKey: .end); try c.encode(st, forKey: .step)
        case let .topK(k, a): try c.encode(k, forKey: .k); try c.encode(a, forKey: .axis)
        case let .conv(s, p): try c.encode(s, forKey: .stride); try c.encode(p, forKey: .pads)
        case .binary, .select, .matmul, .gatherND: break
        }
    }
}
