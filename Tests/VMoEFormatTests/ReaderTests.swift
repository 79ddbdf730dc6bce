import Foundation
import XCTest
import VMoECore
import VMoEIR
@testable import VMoEFormat

final class ReaderTests: XCTestCase {
    func testRoundTripIsExactAndDeterministic() throws {
        let m = try TinyModel.make()
        let bytes = try VMoEWriter.encode(m)
        XCTAssertEqual(bytes, try VMoEWriter.encode(TinyModel.make()), "same model, same bytes")
        let f = try TinyModel.decode(bytes)
        XCTAssertEqual(f.model.metadata, m.metadata)
        XCTAssertEqual(f.model.graph.nodes, m.graph.nodes)
        XCTAssertEqual(f.model.graph.valueTypes, m.graph.valueTypes)
        XCTAssertEqual(Set(f.model.graph.constants.keys), Set(m.graph.constants.keys))
        for (k, t) in m.graph.constants { XCTAssertTrue(f.model.graph.constants[k]!.bitwiseEqual(t), k) }
        XCTAssertTrue(f.model.goldenInputs["image"]!.bitwiseEqual(m.goldenInputs["image"]!))
        for info in f.tensors { XCTAssertEqual(info.offset % FormatSpec.alignment, 0, info.name) }
        // write() and encode() agree.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID()).vmoe").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try VMoEWriter.write(m, to: path)
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: path)!), bytes)
        XCTAssertEqual(try VMoEFile.open(path: path).fileSize, bytes.count)
    }

    /// Every single-byte change is detected, and the error names the damaged part.
    func testEveryByteFlipIsRejectedNamingThePart() throws {
        let bytes = try VMoEWriter.encode(TinyModel.make())
        let good = try TinyModel.decode(bytes)
        let metaStart = FormatSpec.headerSize
        let metaLen = Int(bytes[32..<40].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 0x5A
            XCTAssertThrowsError(try TinyModel.decode(b), "flip at \(i) accepted") { error in
                let msg = "\(error)"
                if let t = good.tensors.first(where: { i >= $0.offset && i < $0.offset + $0.byteLength }) {
                    XCTAssertTrue(msg.contains("tensor '\(t.name)'"), "flip at \(i) in \(t.name): \(msg)")
                } else if i >= metaStart && i < metaStart + metaLen {
                    XCTAssertTrue(msg.contains("metadata section"), "flip at \(i): \(msg)")
                } else if i >= bytes.count - 32 {
                    XCTAssertTrue(msg.contains("trailer"), "flip at \(i): \(msg)")
                }
            }
        }
    }

    func testEveryTruncationIsRejected() throws {
        let bytes = try VMoEWriter.encode(TinyModel.make())
        for n in stride(from: 0, to: bytes.count, by: 7) {
            XCTAssertThrowsError(try TinyModel.decode(Array(bytes[0..<n])), "truncated to \(n)")
        }
        XCTAssertThrowsError(try TinyModel.decode(bytes + [0]), "trailing byte")
    }

    /// Files that are internally consistent (all checksums recomputed) but break a layout rule.
    func testCraftedTablesAreRejected() throws {
        let m = try TinyModel.make()
        func rebuild(_ model: VMoEModel? = nil, _ edit: (inout [UInt8], Int, Int) -> Void) throws -> [UInt8] {
            var b = try VMoEWriter.encode(model ?? m)
            let tableOff = Int(b[64..<72].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            let tableLen = Int(b[72..<80].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            edit(&b, tableOff, tableLen)
            let table = Array(b[tableOff..<(tableOff + tableLen)])
            b.replaceSubrange(160..<192, with: SHA256.hash(table))
            b.replaceSubrange((b.count - 32)..., with: SHA256.hash(Array(b[0..<(b.count - 32)])))
            return b
        }
        // First entry: u32 name length, name, dtype, role, rank, reserved, dims, offset, length, hash.
        func firstEntryFields(_ b: [UInt8], _ off: Int) -> (nameLen: Int, rankAt: Int, dimsAt: Int, rank: Int) {
            let n = Int(b[off..<(off + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            let rankAt = off + 4 + n + 2
            return (n, rankAt, rankAt + 2, Int(b[rankAt]))
        }
        let cases: [(String, (inout [UInt8], Int, Int) -> Void)] = [
            ("dtype", { b, o, _ in let f = firstEntryFields(b, o); b[f.rankAt - 2] = 200 }),
            ("rank", { b, o, _ in let f = firstEntryFields(b, o); b[f.rankAt] = 9 }),
            ("reserved", { b, o, _ in let f = firstEntryFields(b, o); b[f.rankAt + 1] = 1 }),
            ("byte length", { b, o, _ in let f = firstEntryFields(b, o); b[f.dimsAt] &+= 1 }),
            ("overflow", { b, o, _ in let f = firstEntryFields(b, o); for i in 0..<8 { b[f.dimsAt + i] = 0xFF } ; b[f.dimsAt + 7] = 0x3F }),
            ("offset", { b, o, _ in let f = firstEntryFields(b, o); b[f.dimsAt + 8 * f.rank] = 64 }),
            ("name length", { b, o, _ in b[o] = 0; b[o + 1] = 0; b[o + 2] = 0; b[o + 3] = 0 }),
            ("utf8", { b, o, _ in b[o + 4] = 0xFF }),
        ]
        for (what, edit) in cases {
            XCTAssertThrowsError(try TinyModel.decode(try rebuild(nil, edit)), what) { XCTAssertTrue("\($0)".contains("tensor table entry 0") || "\($0)".contains("limit"), "\(what): \($0)") }
        }
        // Duplicate name: an extra constant "head.biaz" renamed in the table to "head.bias".
        var dup = m
        dup.graph.constants["head.biaz"] = dup.graph.constants["head.bias"]
        let bytes = try rebuild(dup) { b, o, l in
            if let r = b[o..<(o + l)].firstRange(of: Array("head.biaz".utf8)) { b[r.upperBound - 1] = UInt8(ascii: "s") }
        }
        XCTAssertThrowsError(try TinyModel.decode(bytes)) { XCTAssertTrue("\($0)".contains("duplicate name"), "\($0)") }
    }

    func testHeaderRules() throws {
        let bytes = try VMoEWriter.encode(TinyModel.make())
        var v = bytes; v[8] = 2
        XCTAssertThrowsError(try TinyModel.decode(v)) { XCTAssertEqual($0 as? FormatError, .unsupportedVersion(2)) }
        var mg = bytes; mg[0] = 0x57
        XCTAssertThrowsError(try TinyModel.decode(mg)) { XCTAssertEqual($0 as? FormatError, .badMagic) }
        var al = bytes; al[24] = 0
        XCTAssertThrowsError(try TinyModel.decode(al)) { XCTAssertTrue("\($0)".contains("alignment")) }
        XCTAssertThrowsError(try TinyModel.decode([])) { XCTAssertTrue("\($0)".contains("truncated")) }
        XCTAssertThrowsError(try VMoEFile.open(path: "/nonexistent.vmoe")) { XCTAssertTrue("\($0)".contains("/nonexistent.vmoe")) }
    }
}
