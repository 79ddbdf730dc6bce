import Foundation
import VMoECore
import VMoEIR
@testable import VMoEFormat

/// A tiny but complete ViT model (random weights) for format tests; golden vectors are arbitrary.
enum TinyModel {
    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static func make() throws -> VMoEModel {
        let raw: [String: JSONValue] = ["family": .string("vit"), "image_size": .number(4), "patch_size": .number(2), "dim": .number(8),
                                        "depth": .number(1), "heads": .number(2), "mlp_ratio": .number(2), "num_classes": .number(3)]
        let c = try ModelConfig.parse(raw)
        var seed: UInt64 = 7
        func t(_ shape: [Int]) -> Tensor {
            Tensor(floats: (0..<shape.reduce(1, *)).map { _ in seed = seed &* 6364136223846793005 &+ 1; return Float(seed >> 40) / Float(1 << 24) - 0.5 }, shape: shape)
        }
        var tensors: [String: Tensor] = [
            "patch_embed.proj.weight": t([8, 3, 2, 2]), "patch_embed.proj.bias": t([8]), "cls_token": t([1, 1, 8]), "pos_embed": t([1, 5, 8]),
            "norm.weight": t([8]), "norm.bias": t([8]), "head.weight": t([3, 8]), "head.bias": t([3]),
        ]
        for (n, s) in [("norm1.weight", [8]), ("norm1.bias", [8]), ("attn.qkv.weight", [24, 8]), ("attn.qkv.bias", [24]),
                       ("attn.proj.weight", [8, 8]), ("attn.proj.bias", [8]), ("norm2.weight", [8]), ("norm2.bias", [8]),
                       ("mlp.fc1.weight", [16, 8]), ("mlp.fc1.bias", [16]), ("mlp.fc2.weight", [8, 16]), ("mlp.fc2.bias", [8])] {
            tensors["blocks.0.\(n)"] = t(s)
        }
        var b = ViTGraphBuilder(config: c, tensors: tensors)
        let g = try b.build().graph
        let prov = Provenance(source: "tiny.h5", sourceSHA256: String(repeating: "0", count: 64), converter: "test", goldenCount: 1)
        return VMoEModel(metadata: Metadata(config: c, provenance: prov), graph: g,
                         goldenInputs: ["image": t([1, 3, 4, 4])], goldenOutputs: ["logits": t([1, 3])])
    }

    static func decode(_ bytes: [UInt8]) throws -> VMoEFile {
        let storage = bytes.withUnsafeBytes { ByteStorage(copying: $0) }
        return try VMoEFile.decode(storage.buffer, owner: storage)
    }
}
