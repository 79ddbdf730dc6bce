import VMoECore
import VMoEIR

/// Serialises a model to the v1 layout, byte-identical for identical models.
public enum VMoEWriter {
    struct Item {
        var name: String
        var role: TensorRole
        var tensor: Tensor
    }

    /// Tensors in file order: weights, golden inputs, golden outputs, each sorted by name.
    static func items(_ m: VMoEModel) -> [Item] {
        m.graph.constants.keys.sorted().map { Item(name: $0, role: .weight, tensor: m.graph.constants[$0]!) }
            + m.goldenInputs.keys.sorted().map { Item(name: FormatSpec.goldenInputPrefix + $0, role: .goldenInput, tensor: m.goldenInputs[$0]!) }
            + m.goldenOutputs.keys.sorted().map { Item(name: FormatSpec.goldenOutputPrefix + $0, role: .goldenOutput, tensor: m.goldenOutputs[$0]!) }
    }

    /// Writes `model` to `path` atomically (temporary file + rename).
    public static func write(_ model: VMoEModel, to path: String) throws {
        let (prefix, items, dataLength) = try layout(model)
        var chunks = [UnsafeRawBufferPointer]()
        let zeros = [UInt8](repeating: 0, count: FormatSpec.alignment)
        var hasher = SHA256()
        var trailer = [UInt8]()
        try prefix.withUnsafeBytes { p in
            try zeros.withUnsafeBytes { z in
                chunks.append(p)
                var off = 0
                for it in items {
                    let start = alignUp(off, FormatSpec.alignment)!
                    if start > off { chunks.append(UnsafeRawBufferPointer(rebasing: z[0..<(start - off)])) }
                    chunks.append(it.tensor.storage.buffer)
                    off = start + it.tensor.byteCount
                }
                precondition(off == dataLength)
                for c in chunks { hasher.update(c) }
                trailer = hasher.finalize()
                try trailer.withUnsafeBytes { t in
                    try AtomicFile.write(chunks: chunks + [t], to: path)
                }
            }
        }
    }

    /// The whole file in memory (tests and fuzz seeds).
    public static func encode(_ model: VMoEModel) throws -> [UInt8] {
        let (prefix, items, _) = try layout(model)
        var out = prefix
        for it in items {
            while out.count % FormatSpec.alignment != 0 { out.append(0) }
            out.append(contentsOf: it.tensor.storage.buffer)
        }
        out += SHA256.hash(out)
        return out
    }

    /// Header, metadata, graph, table and padding up to the data section; plus the tensors and data length.
    static func layout(_ model: VMoEModel) throws -> ([UInt8], [Item], Int) {
        let meta = try canonicalJSON(model.metadata)
        let graph = try canonicalJSON(GraphDocument(model.graph))
        let items = items(model)
        var table = [UInt8]()
        var off = 0
        for it in items {
            let start = alignUp(off, FormatSpec.alignment)!
            let name = Array(it.name.utf8)
            table.appendLE(UInt32(name.count))
            table += name
            table += [it.tensor.dtype.rawValue, it.role.rawValue, UInt8(it.tensor.shape.count), 0]
            for d in it.tensor.shape { table.appendLE(UInt64(d)) }
            table.appendLE(UInt64(start))
            table.appendLE(UInt64(it.tensor.byteCount))
            table += SHA256.hash(it.tensor.storage.buffer)
            off = start + it.tensor.byteCount
        }
        let metaOff = FormatSpec.headerSize
        let graphOff = metaOff + meta.count
        let tableOff = graphOff + graph.count
        let dataOff = alignUp(tableOff + table.count, FormatSpec.alignment)!
        let fileSize = dataOff + off + FormatSpec.trailerSize
        var h = FormatSpec.magic
        h.appendLE(FormatSpec.version)
        h.appendLE(UInt32(FormatSpec.headerSize))
        h.appendLE(UInt64(fileSize))
        h.appendLE(UInt32(FormatSpec.alignment))
        h.appendLE(UInt32(items.count))
        for (o, l) in [(metaOff, meta.count), (graphOff, graph.count), (tableOff, table.count), (dataOff, off)] {
            h.appendLE(UInt64(o)); h.appendLE(UInt64(l))
        }
        h += SHA256.hash(meta) + SHA256.hash(graph) + SHA256.hash(table)
        h += [UInt8](repeating: 0, count: FormatSpec.Field.reservedLength)
        precondition(h.count == FormatSpec.headerSize)
        var prefix = h + meta + graph + table
        prefix += [UInt8](repeating: 0, count: dataOff - prefix.count)
        return (prefix, items, off)
    }
}
