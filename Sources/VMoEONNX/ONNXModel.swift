import VMoECore

/// An attribute value of an ONNX node.
public enum ONNXAttribute: Equatable {
    case int(Int)
    case float(Float)
    case ints([Int])
    case floats([Float])
    case string(String)
    case tensor(ONNXTensor)
    case unsupported(String)
}

/// A constant tensor: float data as Float (f16/bf16/f64 widened or narrowed), integers as Int.
public struct ONNXTensor: Equatable {
    public var shape: [Int]
    public var dtype: DType
    public var floats: [Float]
    public var ints: [Int]

    public var count: Int { shape.reduce(1, *) }
    public var isInteger: Bool { !dtype.isFloat }
    /// Values as Double whatever the storage.
    public var values: [Double] { isInteger ? ints.map(Double.init) : floats.map(Double.init) }

    public func tensor() -> Tensor {
        if isInteger {
            let s = ints.withUnsafeBytes { _ in ByteStorage(count: ints.count * 8) { o in for (i, v) in ints.enumerated() { o.storeBytes(of: Int64(v), toByteOffset: 8 * i, as: Int64.self) } } }
            return Tensor(dtype: .int64, shape: shape, storage: s)
        }
        return Tensor(floats: floats, shape: shape)
    }
}

public struct ONNXNode {
    public var name: String
    public var opType: String
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public func int(_ k: String, _ d: Int) -> Int { if case let .int(v)? = attributes[k] { return v }; return d }
    public func float(_ k: String, _ d: Float) -> Float { if case let .float(v)? = attributes[k] { return v }; return d }
    public func ints(_ k: String) -> [Int]? { if case let .ints(v)? = attributes[k] { return v }; return nil }
}

/// A graph input or output: element type and dims (a name for a symbolic dim).
public struct ONNXValueInfo {
    public enum DimSpec: Equatable { case value(Int), param(String), unknown }
    public var name: String
    public var elemType: Int
    public var dims: [DimSpec]
}

/// The parts of a ModelProto the importer uses.
public struct ONNXModel {
    public var path: String
    public var opsets: [String: Int]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    public var initializers: [String: ONNXTensor]
    public var nodes: [ONNXNode]
    public var producer: String
}
