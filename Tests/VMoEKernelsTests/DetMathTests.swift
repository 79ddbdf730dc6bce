import Foundation
import XCTest
@testable import VMoEKernels

final class DetMathTests: XCTestCase {
    func testExpAgainstDoublePrecision() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let want = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(DetMath.exp(x)) - want) / want)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(DetMath.exp(0), 1)
        XCTAssertEqual(DetMath.exp(100), .infinity)
        XCTAssertEqual(DetMath.exp(-200), 0)
        XCTAssertTrue(DetMath.exp(.nan).isNaN)
        XCTAssertGreaterThan(DetMath.exp(-100), 0, "subnormal range")
    }

    func testErfAgainstDoublePrecision() {
        var worst: Double = 0
        var x: Float = -6
        while x < 6 {
            worst = max(worst, abs(Double(DetMath.erf(x)) - Foundation.erf(Double(x))))
            x += 0.00113
        }
        XCTAssertLessThan(worst, 3.5e-7)
        XCTAssertEqual(DetMath.erf(0), 0)
        XCTAssertEqual(DetMath.erf(10), 1)
        XCTAssertEqual(DetMath.erf(-10), -1)
    }

    func testSum8FixedOrder() {
        let v: [Float] = (0..<19).map { Float($0) + 0.1 }
        let got = v.withUnsafeBufferPointer { DetMath.sum8($0.baseAddress!, 19) }
        var lanes = [Float](repeating: 0, count: 8)
        for (i, x) in v.enumerated() { lanes[i % 8] += x }
        XCTAssertEqual(got.bitPattern, (((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))).bitPattern)
    }
}
