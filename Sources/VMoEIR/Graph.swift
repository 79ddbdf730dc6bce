import VMoECore

/// One dimension of a value's shape: the symbolic batch, a multiple of it, or a fixed size.
public enum Dim: Equatable, Hashable, Sendable, CustomStringConvertible {
    case batch
    /// k·B for k ≥ 2 (an exporter's reshape that merges the batch with another axis).
    case batchTimes(Int)
    case fixed(Int)

    /// k·B + 0 or 0·B + c, normalised (k = 1 is `.batch`).
    public static func affine(batch k: Int, constant c: Int) -> Dim? {
        if k == 0 { return c >= 0 ? .fixed(c) : nil }
        guard c == 0, k > 0 else { return nil }
        return k == 1 ? .batch : .batchTimes(k)
    }

    /// (coefficient of B, constant).
    public var affine: (batch: Int, constant: Int) {
        switch self {
        case .batch: return (1, 0)
        case let .batchTimes(k): return (k, 0)
        case let .fixed(n): return (0, n)
        }
    }

    public var description: String {
        switch self {
        case .batch: return "B"
        case let .batchTimes(k): return "\(k)B"
        case let .fixed(n): return String(n)
        }
    }

    /// The size once the batch is known.
    public func resolved(batch: Int) -> Int {
        switch self {
        case .batch: return batch
        case let .batchTimes(k): return k * batch
        case let .fixed(n): return n
        }
    }

    /// JSON spelling: n ≥ 0 fixed, −k for k·B.
    public var code: Int { affine.batch > 0 ? -affine.batch : affine.constant }
    public init?(code: Int) {
        guard let d = code >= 0 ? Dim.fixed(code) : Dim.affine(batch: -code, constant: 0) else { return nil }
        self = d
    }
}

/// The static type of a graph value.
public struct ValueType: Equatable, Sendable, CustomStringConvertible, Codable {
    public var dtype: DType
    public var shape: [Dim]

    public init(_ dtype: DType, _ shape: [Dim]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// A constant's type: all dimensions fixed.
    public init(constant t: Tensor) {
        self.init(t.dtype, t.shape.map { .fixed($0) })
    }

    public var description: String { "\(dtype.name)[\(shape.map(\.description).joined(separator: ","))]" }

    public func resolved(batch: Int) -> [Int] { shape.map { $0.resolved(batch: batch) } }

    // Encoded as {"dtype": "f32", "shape": [-1, 17, 64]} with -1 for the batch.
    private enum Keys: String, CodingKey { case dtype, shape }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let name = try c.decode(String.self, forKey: .dtype)
        guard let dt = DType(name: name) else {
            throw DecodingError.dataCorruptedError(forKey: .dtype, in: c, debugDescription: "unknown dtype '\(name)'")
        }
        let dims = try c.decode([Int].self, forKey: .shape)
        guard dims.count <= 8, dims.allSatisfy({ $0 >= -(1 << 20) && $0 < 1 << 40 }) else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: c, debugDescription: "bad shape \(dims)")
        }
        self.init(dt, dims.compactMap { Dim(code: $0) })
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(dtype.name, forKey: .dtype)
        try c.encode(shape.map(\.code), forKey: .shape)
    }
}

/// A graph node: an op applied to named values, defining named values.
public struct Node: Equatable, Sendable, Codable {
    public var name: String
    public var op: Op
    public var inputs: [String]
    public var outputs: [String]

    public init(name: String, op: Op, inputs: [String], outputs: [String]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// A model: nodes in execution order over named values, plus the constant tensors they read.
public struct Graph: Sendable {
    /// Graph inputs with their types (the image, f32 [B,C,H,W]).
    public var inputs: [(name: String, type: ValueType)]
    public var outputs: [String]
    public var nodes: [Node]
    /// Declared types of every node output.
    public var valueTypes: [String: ValueType]
    public var constants: [String: Tensor]

    public init(inputs: [(name: String, type: ValueType)], outputs: [String], nodes: [Node],
                valueTypes: [String: ValueType], constants: [String: Tensor]) {
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.valueTypes = valueTypes
        self.constants = constants
    }

    /// The type of any value: graph input, constant or node output.
    public func type(of name: String) -> ValueType? {
        if let t = valueTypes[name] { return t }
        if let c = constants[name] { return ValueType(constant: c) }
        return inputs.first(where: { $0.name == name })?.type
    }

    /// Total bytes of constant data.
    public var constantBytes: Int { constants.values.reduce(0) { $0 + $1.byteCount } }
    public var parameterCount: Int { constants.values.reduce(0) { $0 + $1.elementCount } }
}
