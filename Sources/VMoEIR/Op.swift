import VMoECore

/// How an image picks its experts (Mobile V-MoE per-image routing).
public struct RouteSpec: Codable, Equatable, Sendable {
    public var input: ModelConfig.RouterInput
    public var topK: Int
    public var gate: ModelConfig.GateKind
    /// Experts the router may choose (ascending); the logits of the others still count in the softmax
    /// normaliser. When set, the route's expert outputs are slots (positions in this list), which index
    /// the pruned, sliced expert weights. nil = all experts, slot = expert id.
    public var allowed: [Int]?

    public init(input: ModelConfig.RouterInput, topK: Int, gate: ModelConfig.GateKind, allowed: [Int]? = nil) {
        self.input = input
        self.topK = topK
        self.gate = gate
        self.allowed = allowed
    }
}

/// The closed set of graph operations; every `switch` over it in the runtime and format is exhaustive.
/// Shapes below use B for the symbolic batch; linear weights are stored [in, out].
public enum Op: Equatable, Sendable {
    /// image [B,C,H,W], weight [D,C,p,p], bias [D] → [B, (H/p)(W/p), D]
    case patchEmbed(patch: Int)
    /// x [B,N,D], cls [1,1,D] → [B,N+1,D]
    case prependClassToken
    /// a [.., D] + b, where b's shape equals a's trailing dims or a's full shape with 1 for the batch.
    case add
    /// x [.., D], gamma [D], beta [D]; statistics over the last axis in the order the spec fixes.
    case layerNorm(epsilon: Float)
    /// x [.., K], weight [K,N], bias [N] (optional) → [.., N]
    case linear
    /// Exact (erf) GELU, element-wise.
    case gelu
    /// qkv [B,T,3D] with q,k,v then heads on the last axis → [B,T,D]; scores are q·k × `scale`
    /// (1/sqrt(D/heads) unless a pass folded it into the q weights).
    case attention(heads: Int, scale: Float)
    /// x [B,T,D], weight [D,E], bias [E] → experts i32 [B,k], gates f32 [B,k]
    case route(RouteSpec)
    /// h [B,T,D], experts, gates, fc1 [E,D,H], fc1b [E,H], fc2 [E,H,D], fc2b [E,D] → [B,T,D]
    case moeMLP
    /// x [B,T,D] → [B,D], the token at `index`.
    case selectToken(index: Int)
    /// Quantized weight → f32 weight, evaluated once when a model is loaded (see QuantScheme).
    case dequantize(QuantScheme)
    /// A tensor-level op from an imported graph that no pattern raised (see GenericOp).
    case generic(GenericOp)

    /// The op's name in the IR text and the graph JSON.
    public var kind: String {
        switch self {
        case .patchEmbed: return "patch_embed"
        case .prependClassToken: return "prepend_class_token"
        case .add: return "add"
        case .layerNorm: return "layer_norm"
        case .linear: return "linear"
        case .gelu: return "gelu"
        case .attention: return "attention"
        case .route: return "route"
        case .moeMLP: return "moe_mlp"
        case .selectToken: return "select_token"
        case .dequantize: return "dequantize"
        case let .generic(g): return g.name
        }
    }

    /// Attributes in `key=value` form, for the text dump.
    public var attributeText: String {
        switch self {
        case let .patchEmbed(p): return "patch=\(p)"
        case let .layerNorm(e): return "eps=\(e)"
        case let .attention(h, sc): return "heads=\(h), scale=\(sc)"
        case let .route(s):
            var t = "input=\(s.input.rawValue), k=\(s.topK), gate=\(s.gate.rawValue)"
            if let a = s.allowed { t += ", allowed=\(a)" }
            return t
        case let .selectToken(i): return "index=\(i)"
        case let .dequantize(q): return q.description
        case let .generic(g): return g.attributes
        case .prependClassToken, .add, .linear, .gelu, .moeMLP: return ""
        }
    }
}

extension Op: Codable {
    private enum Keys: String, CodingKey { case kind, patch, epsilon, heads, scale, route, index, scheme, generic }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "patch_embed": self = .patchEmbed(patch: try c.decode(Int.self, forKey: .patch))
        case "prepend_class_token": self = .prependClassToken
        case "add": self = .add
        case "layer_norm": self = .layerNorm(epsilon: try c.decode(Float.self, forKey: .epsilon))
        case "linear": self = .linear
        case "gelu": self = .gelu
        case "attention": self = .attention(heads: try c.decode(Int.self, forKey: .heads), scale: try c.decode(Float.self, forKey: .scale))
        case "route": self = .route(try c.decode(RouteSpec.self, forKey: .route))
        case "moe_mlp": self = .moeMLP
        case "select_token": self = .selectToken(index: try c.decode(Int.self, forKey: .index))
        case "dequantize": self = .dequantize(try c.decode(QuantScheme.self, forKey: .scheme))
        case "generic": self = .generic(try c.decode(GenericOp.self, forKey: .generic))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown op '\(kind)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        if case .generic = self { try c.encode("generic", forKey: .kind) } else { try c.encode(kind, forKey: .kind) }
        switch self {
        case let .patchEmbed(p): try c.encode(p, forKey: .patch)
        case let .layerNorm(e): try c.encode(e, forKey: .epsilon)
        case let .attention(h, sc): try c.encode(h, forKey: .heads); try c.encode(sc, forKey: .scale)
        case let .route(s): try c.encode(s, forKey: .route)
        case let .selectToken(i): try c.encode(i, forKey: .index)
        case let .dequantize(q): try c.encode(q, forKey: .scheme)
        case let .generic(g): try c.encode(g, forKey: .generic)
        case .prependClassToken, .add, .linear, .gelu, .moeMLP: break
        }
    }
}

/// How a quantized weight is stored. Weights are [K,N] or stacked experts [E,K,N] (K = input axis).
/// Dequantization is w = Float(q) × scale, one rounding, so every runtime gets the same f32 weights.
public enum QuantScheme: Equatable, Sendable, Codable, CustomStringConvertible {
    /// i8 q, f16 scale per output channel: [N] (or [E,N]).
    case int8PerChannel
    /// i4 q, f16 scale per group of `group` inputs and output channel: [K/group, N] (or [E,K/group,N]).
    case int4Grouped(group: Int)

    public var description: String {
        switch self {
        case .int8PerChannel: return "int8 per-channel"
        case let .int4Grouped(g): return "int4 groups of \(g)"
        }
    }

    private enum Keys: String, CodingKey { case kind, group }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "int8_per_channel": self = .int8PerChannel
        case "int4_grouped":
            let g = try c.decode(Int.self, forKey: .group)
            guard g >= 1, g <= 1 << 20 else { throw DecodingError.dataCorruptedError(forKey: .group, in: c, debugDescription: "bad group \(g)") }
            self = .int4Grouped(group: g)
        case let k: throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown quantization '\(k)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .int8PerChannel: try c.encode("int8_per_channel", forKey: .kind)
        case let .int4Grouped(g): try c.encode("int4_grouped", forKey: .kind); try c.encode(g, forKey: .group)
        }
    }
}
