import XCTest
@testable import VMoECore

final class NPYTests: XCTestCase {
    func testRoundTrip() throws {
        let t = Tensor(floats: (0..<24).map { Float($0) * 0.5 - 3 }, shape: [2, 3, 4])
        let bytes = NPY.encode(t)
        XCTAssertEqual((bytes.count - 128) , 24 * 4, "v1 header padded to 64-byte multiple")
        let back = try NPY.decode(bytes, path: "x.npy")
        XCTAssertTrue(back.bitwiseEqual(t))
    }

    func testVersion2AndOneDimensional() throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
        while (12 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, UInt8(n & 0xff), UInt8(n >> 8), 0, 0] + Array(header.utf8)
        [Float(1), 2, 3].withUnsafeBytes { bytes += $0 }
        let t = try NPY.decode(bytes, path: "v2.npy")
        XCTAssertEqual(t.shape, [3])
        XCTAssertEqual(t.floatValues(), [1, 2, 3])
    }

    func testRejections() {
        func header(_ h: String, data: Int) -> [UInt8] {
            [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8) + [UInt8](repeating: 0, count: data)
        }
        let cases: [([UInt8], NPY.Error)] = [
            (Array("hello world".utf8), .notNPY(path: "p")),
            (header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: 16), .unsupportedDType(path: "p", descr: "<f8")),
            (header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: 8), .fortranOrder(path: "p")),
            (header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data: 8), .sizeMismatch(path: "p", expectedBytes: 16, actualBytes: 8)),
        ]
        for (bytes, want) in cases {
            XCTAssertThrowsError(try NPY.decode(bytes, path: "p")) { XCTAssertEqual($0 as? NPY.Error, want) }
        }
        XCTAssertThrowsError(try NPY.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }", data: 0), path: "p"))
        XCTAssertThrowsError(try NPY.read(path: "/nonexistent/x.npy"))
    }
}
