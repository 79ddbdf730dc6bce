import Foundation
import VMoECore
import VMoEIR

/// Lets concurrent checksum workers read the mapped bytes.
struct UnsafeSendableBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    init(_ b: UnsafeRawBufferPointer) { bytes = b }
}

/// One tensor table entry as read from a file.
public struct TensorInfo: Sendable {
    public var name: String
    public var dtype: DType
    public var role: TensorRole
    public var shape: [Int]
    /// Absolute file offset of the data.
    public var offset: Int
    public var byteLength: Int
}

/// A validated `.vmoe` file: every rule of the spec is checked before any of it is used.
public struct VMoEFile: Sendable {
    public let model: VMoEModel
    public let tensors: [TensorInfo]
    public let fileSize: Int

    /// Maps and validates the file at `path`; errors are prefixed with the path.
    public static func open(path: String) throws -> VMoEFile {
        let map = try MappedFile(path: path)
        return try decode(map.bytes, owner: map)
    }

    /// Validates `bytes` (kept alive by `owner`) in the order that names the damaged part best:
    /// header fields, then section checksums, table rules, tensor checksums, padding, and last the
    /// whole-file trailer.
    /// `checksums: false` skips the SHA-256 checks only (every layout rule still applies); the fuzzer
    /// uses it to reach the table, JSON and graph code behind them.
    public static func decode(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, checksums: Bool = true) throws -> VMoEFile {
        let size = bytes.count
        var h = ByteReader(bytes, from: 0, to: size)
        let magic = try h.slice(8, "magic")
        guard magic.elementsEqual(FormatSpec.magic) else { throw FormatError.badMagic }
        let version = try h.u32("version")
        guard version == FormatSpec.version else { throw FormatError.unsupportedVersion(version) }
        let headerSize = try h.u32("header_size")
        guard headerSize == FormatSpec.headerSize else { throw FormatError.header(field: "header_size", reason: "is \(headerSize), expected \(FormatSpec.headerSize)") }
        guard size >= FormatSpec.headerSize + FormatSpec.trailerSize else {
            throw FormatError.truncated(what: "header and trailer", offset: 0, needed: FormatSpec.headerSize + FormatSpec.trailerSize, available: size)
        }
        let fileSize = try h.u64("file_size")
        guard fileSize == size else {
            throw FormatError.header(field: "file_size", reason: "says \(fileSize) bytes, the file has \(size)\(fileSize > size ? " (truncated?)" : "")")
        }
        let alignment = try h.u32("alignment")
        guard alignment == FormatSpec.alignment else { throw FormatError.header(field: "alignment", reason: "is \(alignment), expected \(FormatSpec.alignment)") }
        let tensorCount = Int(try h.u32("tensor_count"))
        guard tensorCount <= FormatSpec.maxTensors else { throw FormatError.limit(what: "tensor_count", value: tensorCount, limit: FormatSpec.maxTensors) }
        var sections = [(offset: Int, length: Int)]()
        for name in ["metadata", "graph", "table", "data"] {
            sections.append((try h.u64("\(name) offset"), try h.u64("\(name) length")))
        }
        let hashes = (0..<3).map { i in UnsafeRawBufferPointer(rebasing: bytes[(FormatSpec.Field.sectionHashes + 32 * i)..<(FormatSpec.Field.sectionHashes + 32 * (i + 1))]) }
        guard bytes[FormatSpec.Field.reserved..<(FormatSpec.Field.reserved + FormatSpec.Field.reservedLength)].allSatisfy({ $0 == 0 }) else {
            throw FormatError.header(field: "reserved", reason: "bytes 192..<256 must be zero")
        }

        // Layout: contiguous sections, limits, no overflow.
        let names = ["metadata", "graph", "tensor table", "data"]
        let limits = [FormatSpec.maxMetadataBytes, FormatSpec.maxGraphBytes, FormatSpec.maxTableBytes, Int.max]
        var expected = FormatSpec.headerSize
        let trailerStart = size - FormatSpec.trailerSize
        for (i, s) in sections.enumerated() {
            if i == 3 {
                guard let a = alignUp(expected, FormatSpec.alignment) else { throw FormatError.header(field: "data offset", reason: "overflows") }
                expected = a
            }
            guard s.offset == expected else {
                throw FormatError.header(field: "\(names[i]) offset", reason: "is \(s.offset), expected \(expected) (sections must follow each other without gaps)")
            }
            guard s.length <= limits[i] else { throw FormatError.limit(what: "\(names[i]) length", value: s.length, limit: limits[i]) }
            let (end, o) = s.offset.addingReportingOverflow(s.length)
            guard !o, end <= trailerStart else {
                throw FormatError.header(field: "\(names[i]) length", reason: "section of \(s.length) bytes at \(s.offset) runs past the trailer at \(trailerStart)")
            }
            expected = end
        }
        guard expected == trailerStart else {
            throw FormatError.header(field: "data length", reason: "data ends at \(expected) but the trailer starts at \(trailerStart) (trailing bytes)")
        }

        func section(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[sections[i].offset..<(sections[i].offset + sections[i].length)]) }
        for i in 0..<3 where checksums && !SHA256.hash(section(i)).elementsEqual(hashes[i]) {
            throw FormatError.checksumMismatch(part: "\(names[i]) section")
        }

        // Tensor table.
        let dataStart = sections[3].offset, dataLength = sections[3].length
        var t = ByteReader(bytes, from: sections[2].offset, to: sections[2].offset + sections[2].length)
        var infos = [TensorInfo]()
        var hashesByTensor = [UnsafeRawBufferPointer]()
        var seen = Set<String>()
        var nextOffset = 0
        for i in 0..<tensorCount {
            let nameLength = Int(try t.u32("entry \(i) name length"))
            guard nameLength >= 1, nameLength <= FormatSpec.maxNameBytes else {
                throw FormatError.tensorEntry(index: i, name: nil, reason: "name length \(nameLength) is outside 1...\(FormatSpec.maxNameBytes)")
            }
            guard let name = String(validating: Array(try t.slice(nameLength, "entry \(i) name")), as: UTF8.self) else {
                throw FormatError.tensorEntry(index: i, name: nil, reason: "name is not valid UTF-8")
            }
            func fail(_ r: String) -> FormatError { .tensorEntry(index: i, name: name, reason: r) }
            guard seen.insert(name).inserted else { throw fail("duplicate name") }
            let code = try t.u8("entry \(i) dtype")
            guard let dtype = DType(rawValue: code) else { throw fail("unknown dtype code \(code)") }
            let roleCode = try t.u8("entry \(i) role")
            guard let role = TensorRole(rawValue: roleCode) else { throw fail("unknown role \(roleCode)") }
            let rank = Int(try t.u8("entry \(i) rank"))
            guard rank <= FormatSpec.maxRank else { throw fail("rank \(rank) exceeds \(FormatSpec.maxRank)") }
            guard try t.u8("entry \(i) reserved") == 0 else { throw fail("reserved byte is not zero") }
            var shape = [Int]()
            for _ in 0..<rank { shape.append(try t.u64("entry \(i) dim")) }
            let offset = try t.u64("entry \(i) offset")
            let length = try t.u64("entry \(i) byte length")
            hashesByTensor.append(try t.slice(32, "entry \(i) checksum"))
            guard let count = elementCount(shape), let need = dtype.byteCount(elements: count) else { throw fail("shape \(shape) overflows") }
            guard need == length else { throw fail("byte length \(length) does not match shape \(shape) of \(dtype) (\(need) bytes)") }
            guard let aligned = alignUp(nextOffset, FormatSpec.alignment), offset == aligned else {
                throw fail("offset \(offset) is not where the previous tensor ends, aligned (\(alignUp(nextOffset, FormatSpec.alignment) ?? -1)): gap, overlap or reordering")
            }
            let (end, o) = offset.addingReportingOverflow(length)
            guard !o, end <= dataLength else { throw fail("data [\(offset), +\(length)) runs past the data section (\(dataLength) bytes)") }
            nextOffset = end
            infos.append(TensorInfo(name: name, dtype: dtype, role: role, shape: shape, offset: dataStart + offset, byteLength: length))
        }
        guard t.remaining == 0 else {
            throw FormatError.header(field: "tensor table", reason: "\(t.remaining) bytes left after \(tensorCount) entries")
        }
        guard nextOffset == dataLength else {
            throw FormatError.header(field: "data length", reason: "is \(dataLength) but the tensors end at \(nextOffset)")
        }
        if checksums {
            // Tensors are hashed concurrently; the first damaged one in table order is reported.
            let ok = UnsafeMutableBufferPointer<Bool>.allocate(capacity: infos.count)
            defer { ok.deallocate() }
            ok.initialize(repeating: false)
            let base = UnsafeSendableBytes(bytes)
            DispatchQueue.concurrentPerform(iterations: infos.count) { i in
                let info = infos[i]
                let data = UnsafeRawBufferPointer(rebasing: base.bytes[info.offset..<(info.offset + info.byteLength)])
                ok[i] = SHA256.hash(data).elementsEqual(hashesByTensor[i])
            }
            if let bad = ok.firstIndex(of: false) { throw FormatError.checksumMismatch(part: "tensor '\(infos[bad].name)'") }
        }
        // Padding: between the table and the data, and between tensors.
        var cursor = sections[2].offset + sections[2].length
        for info in infos + [TensorInfo(name: "", dtype: .uint8, role: .weight, shape: [], offset: trailerStart, byteLength: 0)] {
            guard bytes[cursor..<info.offset].allSatisfy({ $0 == 0 }) else {
                throw FormatError.header(field: "padding", reason: "non-zero padding bytes in [\(cursor), \(info.offset))")
            }
            cursor = info.offset + info.byteLength
        }
        let trailer = UnsafeRawBufferPointer(rebasing: bytes[trailerStart..<size])
        guard !checksums || SHA256.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<trailerStart])).elementsEqual(trailer) else {
            throw FormatError.checksumMismatch(part: "file trailer (whole-file SHA-256)")
        }

        // JSON sections and the graph.
        let metadata: Metadata = try decodeJSON(section(0), "metadata")
        guard metadata.formatVersion == Int(FormatSpec.version) else {
            throw FormatError.json(section: "metadata", reason: "format_version \(metadata.formatVersion) differs from the header's \(FormatSpec.version)")
        }
        let doc: GraphDocument = try decodeJSON(section(1), "graph")
        guard doc.nodes.count <= FormatSpec.maxNodes else { throw FormatError.limit(what: "node count", value: doc.nodes.count, limit: FormatSpec.maxNodes) }
        var constants = [String: Tensor]()
        var goldenIn = [String: Tensor]()
        var goldenOut = [String: Tensor]()
        for info in infos {
            let storage = ByteStorage(viewing: bytes.baseAddress! + info.offset, count: info.byteLength, owner: owner)
            let tensor = Tensor(dtype: info.dtype, shape: info.shape, storage: storage)
            switch info.role {
            case .weight: constants[info.name] = tensor
            case .goldenInput:
                guard info.name.hasPrefix(FormatSpec.goldenInputPrefix) else { throw FormatError.tensorEntry(index: 0, name: info.name, reason: "golden input must be named \(FormatSpec.goldenInputPrefix)<input>") }
                goldenIn[String(info.name.dropFirst(FormatSpec.goldenInputPrefix.count))] = tensor
            case .goldenOutput:
                guard info.name.hasPrefix(FormatSpec.goldenOutputPrefix) else { throw FormatError.tensorEntry(index: 0, name: info.name, reason: "golden output must be named \(FormatSpec.goldenOutputPrefix)<output>") }
                goldenOut[String(info.name.dropFirst(FormatSpec.goldenOutputPrefix.count))] = tensor
            }
        }
        let graph: Graph
        do { graph = try doc.graph(constants: constants) } catch let e as IRError { throw FormatError.graph(reason: e.description) }
        guard Set(goldenIn.keys) == Set(graph.inputs.map(\.name)), Set(goldenOut.keys) == Set(graph.outputs) else {
            throw FormatError.graph(reason: "golden vectors \(goldenIn.keys.sorted()) → \(goldenOut.keys.sorted()) do not match graph inputs \(graph.inputs.map(\.name)) and outputs \(graph.outputs)")
        }
        let model = VMoEModel(metadata: metadata, graph: graph, goldenInputs: goldenIn, goldenOutputs: goldenOut)
        return VMoEFile(model: model, tensors: infos, fileSize: size)
    }

    static func decodeJSON<T: Decodable>(_ bytes: UnsafeRawBufferPointer, _ section: String) throws -> T {
        var depth = 0, maxDepth = 0, inString = false, escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; maxDepth = max(maxDepth, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        guard maxDepth <= FormatSpec.maxJSONDepth else { throw FormatError.limit(what: "\(section) JSON nesting", value: maxDepth, limit: FormatSpec.maxJSONDepth) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(ctx) {
            throw FormatError.json(section: section, reason: ctx.debugDescription)
        } catch let DecodingError.keyNotFound(key, _) {
            throw FormatError.json(section: section, reason: "missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw FormatError.json(section: section, reason: "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
        } catch {
            throw FormatError.json(section: section, reason: "\(error)")
        }
    }
}
