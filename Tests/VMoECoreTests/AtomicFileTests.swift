import XCTest
@testable import VMoECore

final class AtomicFileTests: XCTestCase {
    func testWritesWholeFileAndLeavesNoTemporary() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmoe-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.bin").path
        try AtomicFile.write([1, 2, 3], to: path)
        try AtomicFile.write([4, 5], to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data([4, 5]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"])
    }

    func testUnwritableDirectoryIsAnError() {
        XCTAssertThrowsError(try AtomicFile.write([1], to: "/nonexistent-dir/out.bin")) {
            XCTAssertTrue("\($0)".contains("/nonexistent-dir/out.bin"))
        }
    }

    func testDTypeSizesOverflowChecked() {
        XCTAssertEqual(DType.int4.byteCount(elements: 5), 3)
        XCTAssertNil(DType.float64.byteCount(elements: Int.max / 4))
        XCTAssertNil(elementCount([Int.max, 2]))
        XCTAssertNil(elementCount([-1]))
        XCTAssertEqual(elementCount([]), 1)
    }
}
