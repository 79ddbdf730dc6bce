import Foundation
import XCTest
import VMoECore
@testable import VMoEFormat

/// Replays every input the fuzzer (scripts/fuzz.sh) ever found a problem with: each must now decode
/// to a value or a FormatError, with and without checksum checks.
final class FuzzRegressionTests: XCTestCase {
    func testCrashersStayFixed() throws {
        let dir = TinyModel.repoRoot.appendingPathComponent("fuzz/crashers")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for f in files where f != ".keep" {
            let data = try Data(contentsOf: dir.appendingPathComponent(f))
            let s = data.withUnsafeBytes { ByteStorage(copying: $0) }
            _ = try? VMoEFile.decode(s.buffer, owner: s, checksums: false)
            _ = try? VMoEFile.decode(s.buffer, owner: s)
        }
    }

    /// Structural mutations of a valid file, decoded without checksums so the layout rules alone must hold.
    func testMutationsWithoutChecksumsNeverCrash() throws {
        let bytes = try VMoEWriter.encode(TinyModel.make())
        var rng: UInt64 = 42
        for _ in 0..<3000 {
            var b = bytes
            for _ in 0..<(1 + Int(rng % 4)) {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                b[Int(rng >> 33) % b.count] = UInt8(truncatingIfNeeded: rng >> 17)
            }
            let s = b.withUnsafeBytes { ByteStorage(copying: $0) }
            _ = try? VMoEFile.decode(s.buffer, owner: s, checksums: false)
        }
    }
}
