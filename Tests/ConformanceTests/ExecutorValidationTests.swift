import XCTest
import VMoECore
import VMoEIR
import VMoERuntime

/// Graphs that type-check but that the runtime cannot execute must be refused with an error naming
/// the node, never trap (a crafted .vmoe can contain them).
final class ExecutorValidationTests: XCTestCase {
    func testComputedWeightIsRefused() throws {
        var b = GraphBuilder(inputs: [("x", ValueType(.float32, [.batch, .fixed(4)]))])
        b.constant("w", Tensor(floats: [Float](repeating: 1, count: 8), shape: [8]))
        let w = try b.one("reshape_w", .generic(.reshape(shape: [.fixed(4), .fixed(2)])), ["w"])
        let y = try b.one("lin", .linear, ["x", w])
        let g = try b.finish(outputs: [y])
        XCTAssertThrowsError(try Executor(graph: g, threads: 1)) { error in
            XCTAssertTrue("\(error)".contains("node 'lin'") && "\(error)".contains("reshape_w"), "\(error)")
        }
    }
}
