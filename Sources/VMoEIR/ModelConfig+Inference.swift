import VMoECore

extension ModelConfig {
    /// The config keys that timm-named tensor shapes determine. `heads`, `top_k`, `router_input` and
    /// `gate` never are: those must come from the checkpoint's config or `--config`.
    public static func inferred(from shapes: [String: [Int]]) -> [String: JSONValue] {
        var c = [String: JSONValue]()
        func n(_ v: Int) -> JSONValue { .number(Double(v)) }
        if let w = shapes["patch_embed.proj.weight"], w.count == 4 {
            c["dim"] = n(w[0]); c["in_channels"] = n(w[1]); c["patch_size"] = n(w[2])
            if let pos = shapes["pos_embed"], pos.count == 3, pos[1] > 1 {
                let patches = pos[1] - 1
                let g = Int(Double(patches).squareRoot().rounded())
                if g * g == patches { c["image_size"] = n(g * w[2]) }
            }
        }
        var blocks = Set<Int>(), moeBlocks = Set<Int>()
        for k in shapes.keys where k.hasPrefix("blocks.") {
            let parts = k.split(separator: ".")
            guard parts.count > 2, let i = Int(parts[1]) else { continue }
            blocks.insert(i)
            if parts[2] == "moe" { moeBlocks.insert(i) }
        }
        if let m = blocks.max() { c["depth"] = n(m + 1) }
        if let head = shapes["head.weight"], head.count == 2 { c["num_classes"] = n(head[0]) }
        let dim = shapes["patch_embed.proj.weight"]?.first
        func ratio(_ hidden: Int) { if let d = dim, d > 0 { c["mlp_ratio"] = .number(Double(hidden) / Double(d)) } }
        if let fc1 = shapes.first(where: { $0.key.hasSuffix(".mlp.fc1.weight") })?.value, fc1.count == 2 { ratio(fc1[0]) }
        if moeBlocks.isEmpty {
            c["family"] = .string("vit")
        } else {
            c["family"] = .string("vmoe")
            c["moe_layers"] = .array(moeBlocks.sorted().map(n))
            if let w = shapes.first(where: { $0.key.hasSuffix(".moe.fc1_weight") })?.value, w.count == 3 {
                c["num_experts"] = n(w[0]); ratio(w[1])
            } else {
                let experts = Set(shapes.keys.compactMap { k -> Int? in
                    let p = k.split(separator: ".")
                    guard let e = p.firstIndex(of: "experts"), e + 1 < p.count else { return nil }
                    return Int(p[e + 1])
                })
                if let m = experts.max() { c["num_experts"] = n(m + 1) }
                if let w = shapes.first(where: { $0.key.hasSuffix(".experts.0.fc1.weight") })?.value, w.count == 2 { ratio(w[0]) }
            }
            if shapes["router.weight"] != nil { c["router"] = .string("shared") }
            else if shapes.keys.contains(where: { $0.hasSuffix(".moe.router.weight") }) { c["router"] = .string("per_layer") }
        }
        return c
    }
}
