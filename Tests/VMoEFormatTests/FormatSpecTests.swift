import Foundation
import XCTest
@testable import VMoEFormat

/// The spec in schemas/ is the source of truth: its constant table must match the code.
final class FormatSpecTests: XCTestCase {
    func testConstantsMatchSchema() throws {
        let text = try String(contentsOf: TinyModel.repoRoot.appendingPathComponent("schemas/vmoe-format-v1.md"), encoding: .utf8)
        var table = [String: String]()
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 2, cells[0].uppercased() == cells[0], cells[0].contains(where: \.isLetter) { table[cells[0]] = cells[1] }
        }
        let magic = table["MAGIC"]?.trimmingCharacters(in: CharacterSet(charactersIn: "`")).split(separator: " ").compactMap { UInt8($0, radix: 16) }
        XCTAssertEqual(magic, FormatSpec.magic)
        let expected: [String: Int] = [
            "VERSION": Int(FormatSpec.version), "HEADER_SIZE": FormatSpec.headerSize, "ALIGNMENT": FormatSpec.alignment,
            "TRAILER_SIZE": FormatSpec.trailerSize, "MAX_METADATA_BYTES": FormatSpec.maxMetadataBytes,
            "MAX_GRAPH_BYTES": FormatSpec.maxGraphBytes, "MAX_TABLE_BYTES": FormatSpec.maxTableBytes,
            "MAX_TENSORS": FormatSpec.maxTensors, "MAX_RANK": FormatSpec.maxRank, "MAX_NAME_BYTES": FormatSpec.maxNameBytes,
            "MAX_NODES": FormatSpec.maxNodes, "MAX_JSON_DEPTH": FormatSpec.maxJSONDepth,
        ]
        for (k, v) in expected { XCTAssertEqual(table[k].flatMap { Int($0) }, v, k) }
        XCTAssertEqual(table.count, expected.count + 1, "every constant in the schema is checked")
    }
}
