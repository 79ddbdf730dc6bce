import VMoECore
import Foundation

/// The typed model configuration (`config` attribute of a checkpoint; see docs/hdf5-input.md).
public struct ModelConfig: Codable, Equatable, Sendable {
    public enum Family: String, Codable, Sendable { case vit, vmoe }
    public enum RouterKind: String, Codable, Sendable { case shared, perLayer = "per_layer" }
    public enum RouterInput: String, Codable, Sendable { case cls, mean }
    public enum GateKind: String, Codable, Sendable { case renormalized, softmax }

    public var family: Family
    public var imageSize: Int
    public var patchSize: Int
    public var inChannels: Int
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Double
    public var numClasses: Int
    public var layerNormEps: Double
    /// Indices of the MoE blocks, ascending (empty for a dense ViT).
    public var moeLayers: [Int]
    public var numExperts: Int
    public var topK: Int
    public var router: RouterKind
    public var routerInput: RouterInput
    public var gate: GateKind
    public var superclassOfClass: [Int]?
    public var classNames: [String]?

    enum CodingKeys: String, CodingKey {
        case family, imageSize = "image_size", patchSize = "patch_size", inChannels = "in_channels", dim, depth, heads
        case mlpRatio = "mlp_ratio", numClasses = "num_classes", layerNormEps = "layer_norm_eps"
        case moeLayers = "moe_layers", numExperts = "num_experts", topK = "top_k", router
        case routerInput = "router_input", gate, superclassOfClass = "superclass_of_class", classNames = "class_names"
    }

    /// Decoding validates like `parse`, so a config read from a file obeys the same rules as one typed in.
    public init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: JSONValue].self)
        do { self = try ModelConfig.parse(raw) } catch let e as IRError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "config: \(e)"))
        }
    }

    public init(family: Family, imageSize: Int, patchSize: Int, inChannels: Int, dim: Int, depth: Int, heads: Int,
                mlpRatio: Double, numClasses: Int, layerNormEps: Double, moeLayers: [Int], numExperts: Int, topK: Int,
                router: RouterKind, routerInput: RouterInput, gate: GateKind, superclassOfClass: [Int]?, classNames: [String]?) {
        self.family = family; self.imageSize = imageSize; self.patchSize = patchSize; self.inChannels = inChannels
        self.dim = dim; self.depth = depth; self.heads = heads; self.mlpRatio = mlpRatio; self.numClasses = numClasses
        self.layerNormEps = layerNormEps; self.moeLayers = moeLayers; self.numExperts = numExperts; self.topK = topK
        self.router = router; self.routerInput = routerInput; self.gate = gate
        self.superclassOfClass = superclassOfClass; self.classNames = classNames
    }

    public var hidden: Int { Int((Double(dim) * mlpRatio).rounded()) }
    public var gridSize: Int { imageSize / patchSize }
    public var numPatches: Int { gridSize * gridSize }
    public var tokens: Int { numPatches + 1 }
    public var isMoE: Bool { family == .vmoe }

    /// Keys every config needs; vmoe adds `moeRequired`.
    public static let required = ["family", "image_size", "patch_size", "dim", "depth", "heads", "mlp_ratio", "num_classes"]
    public static let moeRequired = ["moe_layers", "num_experts", "top_k", "router", "router_input", "gate"]

    /// Types a merged JSON config, naming every missing key at once and the first invalid one.
    public static func parse(_ raw: [String: JSONValue]) throws -> ModelConfig {
        var missing = required.filter { raw[$0] == nil || raw[$0] == .null }
        let familyName = try string(raw, "family", allowed: ["vit", "vmoe"])
        let isMoE = familyName == "vmoe"
        if isMoE { missing += moeRequired.filter { raw[$0] == nil || raw[$0] == .null } }
        if !missing.isEmpty { throw IRError.configMissing(keys: missing) }
        let depth = try int(raw, "depth", min: 1)
        var c = ModelConfig(
            family: isMoE ? .vmoe : .vit,
            imageSize: try int(raw, "image_size", min: 1), patchSize: try int(raw, "patch_size", min: 1),
            inChannels: raw["in_channels"] == nil ? 3 : try int(raw, "in_channels", min: 1),
            dim: try int(raw, "dim", min: 1), depth: depth, heads: try int(raw, "heads", min: 1),
            mlpRatio: try number(raw, "mlp_ratio"), numClasses: try int(raw, "num_classes", min: 1),
            layerNormEps: raw["layer_norm_eps"] == nil ? 1e-6 : try number(raw, "layer_norm_eps"),
            moeLayers: [], numExperts: 0, topK: 0, router: .shared, routerInput: .cls, gate: .renormalized,
            superclassOfClass: nil, classNames: nil)
        guard c.imageSize % c.patchSize == 0 else {
            throw IRError.configInvalid(key: "image_size", reason: "\(c.imageSize) is not a multiple of patch_size \(c.patchSize)")
        }
        guard c.dim % c.heads == 0 else {
            throw IRError.configInvalid(key: "heads", reason: "dim \(c.dim) is not divisible by \(c.heads) heads")
        }
        guard c.mlpRatio > 0, c.hidden >= 1 else { throw IRError.configInvalid(key: "mlp_ratio", reason: "must be positive") }
        guard c.layerNormEps > 0, c.layerNormEps < 1 else {
            throw IRError.configInvalid(key: "layer_norm_eps", reason: "must be in (0, 1)")
        }
        if isMoE {
            switch raw["moe_layers"] {
            case let .number(n)?:
                guard n == n.rounded(), n >= 1, Int(n) <= depth else {
                    throw IRError.configInvalid(key: "moe_layers", reason: "\(n) is not a block count in 1...\(depth)")
                }
                c.moeLayers = Array((depth - Int(n))..<depth)
            case let .array(a)?:
                var layers = [Int]()
                for v in a {
                    guard case let .number(n) = v, n == n.rounded(), n >= 0, Int(n) < depth else {
                        throw IRError.configInvalid(key: "moe_layers", reason: "entries must be block indices in 0..<\(depth)")
                    }
                    layers.append(Int(n))
                }
                guard !layers.isEmpty, Set(layers).count == layers.count else {
                    throw IRError.configInvalid(key: "moe_layers", reason: "must be a non-empty list of distinct indices")
                }
                c.moeLayers = layers.sorted()
            default:
                throw IRError.configInvalid(key: "moe_layers", reason: "expected an int (the last n blocks) or a list of block indices")
            }
            c.numExperts = try int(raw, "num_experts", min: 1)
            c.topK = try int(raw, "top_k", min: 1)
            guard c.topK <= c.numExperts else {
                throw IRError.configInvalid(key: "top_k", reason: "\(c.topK) exceeds num_experts \(c.numExperts)")
            }
            c.router = try string(raw, "router", allowed: ["shared", "per_layer"]) == "shared" ? .shared : .perLayer
            c.routerInput = try string(raw, "router_input", allowed: ["cls", "mean"]) == "cls" ? .cls : .mean
            c.gate = try string(raw, "gate", allowed: ["renormalized", "softmax"]) == "softmax" ? .softmax : .renormalized
        }
        if let s = raw["superclass_of_class"], s != .null {
            guard case let .array(a) = s else { throw IRError.configInvalid(key: "superclass_of_class", reason: "expected a list of ints") }
            var map = [Int]()
            let limit = isMoE ? c.numExperts : Int.max
            for v in a {
                guard case let .number(n) = v, n == n.rounded(), n >= 0, n < Double(limit) else {
                    throw IRError.configInvalid(key: "superclass_of_class", reason: "entries must be super-class ids in 0..<\(limit)")
                }
                map.append(Int(n))
            }
            guard map.count == c.numClasses else {
                throw IRError.configInvalid(key: "superclass_of_class", reason: "has \(map.count) entries, expected num_classes = \(c.numClasses)")
            }
            c.superclassOfClass = map
        }
        if let s = raw["class_names"], s != .null {
            guard case let .array(a) = s else { throw IRError.configInvalid(key: "class_names", reason: "expected a list of strings") }
            var names = [String]()
            for v in a {
                guard case let .string(n) = v else { throw IRError.configInvalid(key: "class_names", reason: "expected a list of strings") }
                names.append(n)
            }
            guard names.count == c.numClasses else {
                throw IRError.configInvalid(key: "class_names", reason: "has \(names.count) entries, expected num_classes = \(c.numClasses)")
            }
            c.classNames = names
        }
        return c
    }

    private static func string(_ raw: [String: JSONValue], _ key: String, allowed: [String]) throws -> String {
        guard case let .string(s)? = raw[key], allowed.contains(s) else {
            throw IRError.configInvalid(key: key, reason: "expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return s
    }

    private static func number(_ raw: [String: JSONValue], _ key: String) throws -> Double {
        guard case let .number(n)? = raw[key], n.isFinite else { throw IRError.configInvalid(key: key, reason: "expected a number") }
        return n
    }

    private static func int(_ raw: [String: JSONValue], _ key: String, min: Int) throws -> Int {
        guard case let .number(n)? = raw[key], n == n.rounded(), n >= Double(min), n < 1e9 else {
            throw IRError.configInvalid(key: key, reason: "expected an integer ≥ \(min)")
        }
        return Int(n)
    }
}
