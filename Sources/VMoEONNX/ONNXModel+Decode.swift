import CONNX
import Foundation
import VMoECore

extension ONNXModel {
    /// Largest tensor accepted (elements), guarding against absurd dims in damaged files.
    public static let maxTensorElements = 1 << 32

    /// Decodes `path` with protobuf-c; external tensor data is read relative to the model's folder.
    public static func read(path: String) throws -> ONNXModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ONNXError.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")
        }
        return try decode(data, path: path)
    }

    /// Decodes ModelProto bytes; `path` names the file in errors and anchors external data.
    public static func decode(_ data: Data, path: String) throws -> ONNXModel {
        guard !data.isEmpty else { throw ONNXError.malformed(path: path, reason: "empty file") }
        let proto: UnsafeMutablePointer<Onnx__ModelProto>? = data.withUnsafeBytes { raw in
            onnx__model_proto__unpack(nil, raw.count, raw.bindMemory(to: UInt8.self).baseAddress)
        }
        guard let m = proto else { throw ONNXError.malformed(path: path, reason: "protobuf decoding failed (truncated or not a ModelProto)") }
        defer { onnx__model_proto__free_unpacked(m, nil) }
        guard let g = m.pointee.graph else { throw ONNXError.malformed(path: path, reason: "model has no graph") }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()

        var opsets = [String: Int]()
        for i in 0..<m.pointee.n_opset_import {
            guard let o = m.pointee.opset_import[i] else { continue }
            var d = str(o.pointee.domain)
            if d == "ai.onnx" { d = "" }
            opsets[d] = Int(o.pointee.version)
        }
        var initializers = [String: ONNXTensor]()
        for i in 0..<g.pointee.n_initializer {
            guard let t = g.pointee.initializer[i] else { continue }
            let name = str(t.pointee.name)
            initializers[name] = try tensor(t, path: path, dir: dir)
        }
        var nodes = [ONNXNode]()
        for i in 0..<g.pointee.n_node {
            guard let n = g.pointee.node[i] else { continue }
            var attrs = [String: ONNXAttribute]()
            for j in 0..<n.pointee.n_attribute {
                guard let a = n.pointee.attribute[j] else { continue }
                attrs[str(a.pointee.name)] = try attribute(a, path: path, dir: dir)
            }
            let outs = (0..<n.pointee.n_output).map { str(n.pointee.output[$0]) }
            var name = str(n.pointee.name)
            if name.isEmpty { name = "\(str(n.pointee.op_type))_\(i)" + (outs.first.map { "(\($0))" } ?? "") }
            nodes.append(ONNXNode(name: name, opType: str(n.pointee.op_type), domain: str(n.pointee.domain) == "ai.onnx" ? "" : str(n.pointee.domain),
                                  inputs: (0..<n.pointee.n_input).map { str(n.pointee.input[$0]) }, outputs: outs, attributes: attrs))
        }
        func infos(_ p: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?, _ n: Int) -> [ONNXValueInfo] {
            (0..<n).compactMap { i in
                guard let v = p?[i] else { return nil }
                var elem = 0
                var dims = [ONNXValueInfo.DimSpec]()
                if let t = v.pointee.type, t.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, let tt = t.pointee.tensor_type {
                    elem = Int(tt.pointee.elem_type)
                    if let s = tt.pointee.shape {
                        for j in 0..<s.pointee.n_dim {
                            guard let d = s.pointee.dim[j] else { dims.append(.unknown); continue }
                            switch d.pointee.value_case {
                            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: dims.append(.value(Int(d.pointee.dim_value)))
                            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: dims.append(.param(str(d.pointee.dim_param)))
                            default: dims.append(.unknown)
                            }
                        }
                    }
                }
                return ONNXValueInfo(name: str(v.pointee.name), elemType: elem, dims: dims)
            }
        }
        let inputs = infos(g.pointee.input, g.pointee.n_input).filter { initializers[$0.name] == nil }
        return ONNXModel(path: path, opsets: opsets, inputs: inputs, outputs: infos(g.pointee.output, g.pointee.n_output),
                         initializers: initializers, nodes: nodes, producer: str(m.pointee.producer_name) + " " + str(m.pointee.producer_version))
    }

    static func str(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

    static func attribute(_ a: UnsafeMutablePointer<Onnx__AttributeProto>, path: String, dir: URL) throws -> ONNXAttribute {
        let p = a.pointee
        switch p.type {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return .int(Int(p.i))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return .float(p.f)
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return .ints((0..<p.n_ints).map { Int(p.ints[$0]) })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return .floats((0..<p.n_floats).map { p.floats[$0] })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            return .string(String(decoding: UnsafeBufferPointer(start: p.s.data, count: p.s.len), as: UTF8.self))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
            guard let t = p.t else { return .unsupported("empty tensor attribute") }
            return .tensor(try tensor(t, path: path, dir: dir))
        default: return .unsupported("attribute type \(p.type.rawValue)")
        }
    }

    /// A TensorProto in any encoding torch and onnx write: raw_data, typed fields, or external data.
    static func tensor(_ t: UnsafeMutablePointer<Onnx__TensorProto>, path: String, dir: URL) throws -> ONNXTensor {
        let p = t.pointee
        let name = str(p.name)
        func fail(_ r: String) -> ONNXError { .tensor(path: path, name: name, reason: r) }
        let shape = (0..<p.n_dims).map { Int(p.dims[$0]) }
        guard shape.allSatisfy({ $0 >= 0 }), let count = elementCount(shape), count <= maxTensorElements else { throw fail("bad shape \(shape)") }
        let type = Int(p.data_type)
        let elemSize: Int
        let dtype: DType
        switch type {
        case 1: (elemSize, dtype) = (4, .float32)
        case 10: (elemSize, dtype) = (2, .float16)
        case 16: (elemSize, dtype) = (2, .float16)  // bfloat16: widened below, then held as f32 values
        case 11: (elemSize, dtype) = (8, .float64)
        case 7: (elemSize, dtype) = (8, .int64)
        case 6: (elemSize, dtype) = (4, .int32)
        case 9: (elemSize, dtype) = (1, .uint8)
        case 2: (elemSize, dtype) = (1, .uint8)
        case 3: (elemSize, dtype) = (1, .int8)
        default: throw fail("element type \(type) is not supported (float, float16, bfloat16, double, int64, int32, int8, uint8, bool)")
        }
        var raw: [UInt8]?
        if p.has_data_location != 0 && p.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
            raw = try externalData(p, name: name, path: path, dir: dir, expected: count * elemSize)
        } else if p.has_raw_data != 0 {
            guard p.raw_data.len == count * elemSize else { throw fail("raw_data holds \(p.raw_data.len) bytes, shape \(shape) needs \(count * elemSize)") }
            raw = Array(UnsafeBufferPointer(start: p.raw_data.data, count: p.raw_data.len))
        }
        var out = ONNXTensor(shape: shape, dtype: dtype == .float16 || dtype == .float64 ? .float32 : dtype, floats: [], ints: [])
        if let r = raw {
            r.withUnsafeBytes { b in
                switch type {
                case 1: out.floats = (0..<count).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
                case 10: out.floats = (0..<count).map { Float(Float16(bitPattern: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
                case 16: out.floats = (0..<count).map { Float(bitPattern: UInt32(b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
                case 11: out.floats = (0..<count).map { Float(b.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self)) }
                case 7: out.ints = (0..<count).map { Int(b.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
                case 6: out.ints = (0..<count).map { Int(b.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
                case 3: out.ints = (0..<count).map { Int(b.load(fromByteOffset: $0, as: Int8.self)) }
                default: out.ints = (0..<count).map { Int(b[$0]) }
                }
            }
        } else {
            func check(_ n: Int, _ field: String) throws { guard n == count else { throw fail("\(field) holds \(n) values, shape \(shape) needs \(count)") } }
            switch type {
            case 1: try check(p.n_float_data, "float_data"); out.floats = (0..<count).map { p.float_data[$0] }
            case 11: try check(p.n_double_data, "double_data"); out.floats = (0..<count).map { Float(p.double_data[$0]) }
            case 7: try check(p.n_int64_data, "int64_data"); out.ints = (0..<count).map { Int(p.int64_data[$0]) }
            case 10: try check(p.n_int32_data, "int32_data"); out.floats = (0..<count).map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: p.int32_data[$0]))) }
            case 16: try check(p.n_int32_data, "int32_data"); out.floats = (0..<count).map { Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: p.int32_data[$0])) << 16) }
            default: try check(p.n_int32_data, "int32_data"); out.ints = (0..<count).map { Int(p.int32_data[$0]) }
            }
        }
        return out
    }

    /// Reads `location` [offset, offset+length) relative to the model's folder; refuses absolute paths,
    /// paths leaving the folder (also through symlinks), and ranges outside the file.
    static func externalData(_ p: Onnx__TensorProto, name: String, path: String, dir: URL, expected: Int) throws -> [UInt8] {
        func fail(_ r: String) -> ONNXError { .externalData(path: path, tensor: name, reason: r) }
        var kv = [String: String]()
        for i in 0..<p.n_external_data {
            guard let e = p.external_data[i] else { continue }
            kv[str(e.pointee.key)] = str(e.pointee.value)
        }
        guard let location = kv["location"], !location.isEmpty else { throw fail("no 'location'") }
        guard !location.hasPrefix("/") else { throw fail("location '\(location)' is absolute") }
        guard !location.split(separator: "/").contains("..") else { throw fail("location '\(location)' leaves the model's folder") }
        let file = dir.appendingPathComponent(location)
        let realDir = dir.resolvingSymlinksInPath().standardizedFileURL.path
        let realFile = file.resolvingSymlinksInPath().standardizedFileURL.path
        guard realFile.hasPrefix(realDir + "/") else { throw fail("location '\(location)' resolves outside the model's folder") }
        guard let offset = Int(kv["offset"] ?? "0"), offset >= 0 else { throw fail("bad offset '\(kv["offset"] ?? "")'") }
        let length = kv["length"].flatMap { Int($0) } ?? expected
        guard length == expected else { throw fail("length \(length) does not match the tensor's \(expected) bytes") }
        guard let h = FileHandle(forReadingAtPath: realFile) else { throw fail("cannot open '\(location)'") }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()).map(Int.init) ?? 0
        guard offset <= size, length <= size - offset else { throw fail("[\(offset), +\(length)) lies outside '\(location)' (\(size) bytes)") }
        try? h.seek(toOffset: UInt64(offset))
        let d = h.readData(ofLength: length)
        guard d.count == length else { throw fail("short read from '\(location)'") }
        return [UInt8](d)
    }
}
