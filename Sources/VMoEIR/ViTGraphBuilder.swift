import VMoECore

/// Builds the graph of a timm-named ViT or Mobile V-MoE from its config and state-dict tensors.
///
/// Tensors come in PyTorch layout ([out, in] linears); the graph stores linears [in, out] so that
/// kernels read contiguous rows of output columns. Dtypes are kept as given.
public struct ViTGraphBuilder {
    public let config: ModelConfig
    private var tensors: [String: Tensor]
    private var used = Set<String>()

    /// Result of a build: the graph, and source tensors no part of the model uses.
    public struct Result {
        public var graph: Graph
        public var unusedTensors: [String]
    }

    public init(config: ModelConfig, tensors: [String: Tensor]) {
        self.config = config
        self.tensors = tensors
    }

    public static let imageInput = "image"
    public static let logitsOutput = "logits"

    private mutating func take(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let t = tensors[name] else {
            throw IRError.missingTensor(name: name, expected: "shape \(shape)")
        }
        guard t.dtype.isFloat else { throw IRError.dtypeMismatch(tensor: name, expected: "f16, f32 or f64", actual: t.dtype.name) }
        guard t.shape == shape else { throw IRError.shapeMismatch(tensor: name, expected: shape, actual: t.shape) }
        used.insert(name)
        return t
    }

    public mutating func build() throws -> Result {
        let c = config
        let d = c.dim, h = c.hidden, t = c.tokens
        var b = GraphBuilder(inputs: [(ViTGraphBuilder.imageInput,
                                       ValueType(.float32, [.batch, .fixed(c.inChannels), .fixed(c.imageSize), .fixed(c.imageSize)]))])
        func const(_ name: String, _ tensor: Tensor) -> String { b.constant(name, tensor); return name }

        let pw = const("patch_embed.proj.weight", try take("patch_embed.proj.weight", [d, c.inChannels, c.patchSize, c.patchSize]))
        let pb = const("patch_embed.proj.bias", try take("patch_embed.proj.bias", [d]))
        var x = try b.one("patch_embed", .patchEmbed(patch: c.patchSize), [ViTGraphBuilder.imageInput, pw, pb])
        x = try b.one("cls", .prependClassToken, [x, const("cls_token", try take("cls_token", [1, 1, d]))])
        x = try b.one("pos", .add, [x, const("pos_embed", try take("pos_embed", [1, t, d]))])

        let moe = Set(c.moeLayers)
        let stacked = tensors.keys.contains { $0.hasPrefix("blocks.") && $0.hasSuffix(".moe.fc1_weight") }
        var route: (experts: String, gates: String)?
        if c.isMoE, c.router == .shared, tensors["router.weight"] == nil, tensors.keys.contains(where: { $0.hasSuffix(".moe.router.weight") }) {
            throw IRError.inconsistent(reason: "config says router \"shared\" but the checkpoint has per-layer 'blocks.N.moe.router.*' tensors")
        }
        if c.isMoE, c.router == .perLayer, tensors["router.weight"] != nil {
            throw IRError.inconsistent(reason: "config says router \"per_layer\" but the checkpoint has a shared 'router.weight'")
        }
        for i in 0..<c.depth {
            let p = "blocks.\(i)"
            if moe.contains(i), c.router == .perLayer || route == nil {
                let prefix = c.router == .shared ? "router" : "\(p).moe.router"
                let rw = const("\(prefix).weight", try transposed(take("\(prefix).weight", [c.numExperts, d])))
                let rb = const("\(prefix).bias", try take("\(prefix).bias", [c.numExperts]))
                let spec = RouteSpec(input: c.routerInput, topK: c.topK, gate: c.gate)
                let outs = try b.node(c.router == .shared ? "router" : "\(p).router", .route(spec), [x, rw, rb])
                route = (outs[0], outs[1])
            }
            var hN = try b.one("\(p).norm1", .layerNorm(epsilon: Float(c.layerNormEps)), [
                x, const("\(p).norm1.weight", try take("\(p).norm1.weight", [d])), const("\(p).norm1.bias", try take("\(p).norm1.bias", [d]))])
            let qkv = try b.one("\(p).attn.qkv", .linear, [hN, const("\(p).attn.qkv.weight", try transposed(take("\(p).attn.qkv.weight", [3 * d, d]))),
                                                           const("\(p).attn.qkv.bias", try take("\(p).attn.qkv.bias", [3 * d]))])
            let a = try b.one("\(p).attn", .attention(heads: c.heads, scale: 1 / Float(c.dim / c.heads).squareRoot()), [qkv])
            let proj = try b.one("\(p).attn.proj", .linear, [a, const("\(p).attn.proj.weight", try transposed(take("\(p).attn.proj.weight", [d, d]))),
                                                             const("\(p).attn.proj.bias", try take("\(p).attn.proj.bias", [d]))])
            x = try b.one("\(p).add1", .add, [x, proj])
            hN = try b.one("\(p).norm2", .layerNorm(epsilon: Float(c.layerNormEps)), [
                x, const("\(p).norm2.weight", try take("\(p).norm2.weight", [d])), const("\(p).norm2.bias", try take("\(p).norm2.bias", [d]))])
            let mlpOut: String
            if moe.contains(i), let r = route {
                let e = c.numExperts
                let m = "\(p).moe"
                let (w1, b1, w2, b2) = stacked
                    ? (try take("\(m).fc1_weight", [e, h, d]), try take("\(m).fc1_bias", [e, h]),
                       try take("\(m).fc2_weight", [e, d, h]), try take("\(m).fc2_bias", [e, d]))
                    : try stackExperts(m)
                mlpOut = try b.one(m, .moeMLP, [hN, r.experts, r.gates,
                                                 const("\(m).fc1_weight", try transposedExperts(w1)), const("\(m).fc1_bias", b1),
                                                 const("\(m).fc2_weight", try transposedExperts(w2)), const("\(m).fc2_bias", b2)])
            } else {
                let f1 = try b.one("\(p).mlp.fc1", .linear, [hN, const("\(p).mlp.fc1.weight", try transposed(take("\(p).mlp.fc1.weight", [h, d]))),
                                                             const("\(p).mlp.fc1.bias", try take("\(p).mlp.fc1.bias", [h]))])
                let g = try b.one("\(p).mlp.gelu", .gelu, [f1])
                mlpOut = try b.one("\(p).mlp.fc2", .linear, [g, const("\(p).mlp.fc2.weight", try transposed(take("\(p).mlp.fc2.weight", [d, h]))),
                                                             const("\(p).mlp.fc2.bias", try take("\(p).mlp.fc2.bias", [d]))])
            }
            x = try b.one("\(p).add2", .add, [x, mlpOut])
        }
        x = try b.one("norm", .layerNorm(epsilon: Float(c.layerNormEps)), [
            x, const("norm.weight", try take("norm.weight", [d])), const("norm.bias", try take("norm.bias", [d]))])
        x = try b.one("pool", .selectToken(index: 0), [x])
        let logits = try b.one(ViTGraphBuilder.logitsOutput, .linear, [
            x, const("head.weight", try transposed(take("head.weight", [c.numClasses, d]))),
            const("head.bias", try take("head.bias", [c.numClasses]))])
        let graph = try b.finish(outputs: [logits])
        return Result(graph: graph, unusedTensors: tensors.keys.filter { !used.contains($0) }.sorted())
    }

    /// Gathers split experts `m.experts.{e}.fc{1,2}.{weight,bias}` into stacked [E, …] tensors.
    private mutating func stackExperts(_ m: String) throws -> (Tensor, Tensor, Tensor, Tensor) {
        let c = config, e = c.numExperts, h = c.hidden, d = c.dim
        var parts: [[Tensor]] = [[], [], [], []]
        for j in 0..<e {
            let q = "\(m).experts.\(j)"
            parts[0].append(try take("\(q).fc1.weight", [h, d]))
            parts[1].append(try take("\(q).fc1.bias", [h]))
            parts[2].append(try take("\(q).fc2.weight", [d, h]))
            parts[3].append(try take("\(q).fc2.bias", [d]))
        }
        if tensors["\(m).experts.\(e).fc1.weight"] != nil {
            throw IRError.inconsistent(reason: "'\(m).experts.\(e)' exists but num_experts is \(e)")
        }
        return (try stack(parts[0], "\(m).experts.*.fc1.weight"), try stack(parts[1], "\(m).experts.*.fc1.bias"),
                try stack(parts[2], "\(m).experts.*.fc2.weight"), try stack(parts[3], "\(m).experts.*.fc2.bias"))
    }

    private func stack(_ ts: [Tensor], _ what: String) throws -> Tensor {
        let dtype = ts[0].dtype
        guard ts.allSatisfy({ $0.dtype == dtype }) else {
            throw IRError.inconsistent(reason: "experts of '\(what)' mix dtypes \(Set(ts.map(\.dtype.name)).sorted())")
        }
        let total = ts.reduce(0) { $0 + $1.byteCount }
        let storage = ByteStorage(count: total) { out in
            var off = 0
            for t in ts {
                out.baseAddress!.advanced(by: off).copyMemory(from: t.storage.pointer, byteCount: t.byteCount)
                off += t.byteCount
            }
        }
        return Tensor(dtype: dtype, shape: [ts.count] + ts[0].shape, storage: storage)
    }

    /// [out, in] → [in, out], exact (bytes are moved, not converted).
    private func transposed(_ t: Tensor) throws -> Tensor {
        try transposedExperts(Tensor(dtype: t.dtype, shape: [1] + t.shape, storage: t.storage), keepLeading: false)
    }

    /// [E, out, in] → [E, in, out].
    private func transposedExperts(_ t: Tensor, keepLeading: Bool = true) throws -> Tensor {
        let e = t.shape[0], rows = t.shape[1], cols = t.shape[2], size = t.dtype.elementSize
        let storage = ByteStorage(count: t.byteCount) { out in
            let src = t.storage.pointer
            for x in 0..<e {
                let base = x * rows * cols * size
                for r in 0..<rows {
                    for c in 0..<cols {
                        (out.baseAddress! + base + (c * rows + r) * size).copyMemory(from: src + base + (r * cols + c) * size, byteCount: size)
                    }
                }
            }
        }
        return Tensor(dtype: t.dtype, shape: keepLeading ? [e, cols, rows] : [cols, rows], storage: storage)
    }
}
