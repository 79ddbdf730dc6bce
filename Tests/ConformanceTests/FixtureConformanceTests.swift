import Foundation
import XCTest
import VMoECore
import VMoEIR
import VMoEFormat
import VMoERuntime
import VMoEConvert

/// Every fixture, in every mode, against the logits PyTorch computed (fixtures/generate.py).
final class FixtureConformanceTests: XCTestCase {
    func testFixturesMatchPyTorchInEveryMode() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in Fixtures.names {
            let h5 = Fixtures.path("\(name)/model.h5")
            let inputs = try NPY.read(path: Fixtures.path("\(name)/inputs.npy"))
            let reference = try NPY.read(path: Fixtures.path("\(name)/reference_logits.npy"))

            // Mode 1: the imported graph, in memory.
            let imported = try Converter.importModel(path: h5, options: ConvertOptions())
            let inMemory = try Executor(graph: imported.graph, threads: 1).run(["image": inputs])["logits"]!
            let diff = Fixtures.maxAbsDiff(inMemory, reference)
            XCTAssertLessThanOrEqual(diff, 1e-4, "\(name): max |Δ| vs PyTorch")
            print("conformance \(name): max |Δ| vs PyTorch = \(diff)")

            // Mode 2: after the default passes (fold), in memory: still within 1e-4 of PyTorch.
            let (prepared, _, _) = try Converter.prepare(input: h5, options: ConvertOptions())
            let afterPasses = try Executor(graph: prepared.graph, threads: 1).run(["image": inputs])["logits"]!
            XCTAssertLessThanOrEqual(Fixtures.maxAbsDiff(afterPasses, reference), 1e-4, "\(name): after passes vs PyTorch")
            XCTAssertLessThanOrEqual(Fixtures.maxAbsDiff(afterPasses, inMemory), 1e-4, "\(name): fold within its bound")

            // Mode 3: after write → read (mmap), at several thread counts: bit-identical to mode 2.
            let out = dir.appendingPathComponent("\(name).vmoe").path
            _ = try Converter.convert(input: h5, output: out, options: ConvertOptions())
            let file = try VMoEFile.open(path: out)
            for threads in [1, 2, 8] {
                let y = try Executor(graph: file.model.graph, threads: threads).run(["image": inputs])["logits"]!
                XCTAssertTrue(y.bitwiseEqual(afterPasses), "\(name): \(threads) threads after round trip")
            }
            // Any batch: each image alone gives the same bits as in the batch of 8.
            let exec = try Executor(graph: file.model.graph, threads: 2)
            let per = inputs.elementCount / inputs.shape[0]
            let all = afterPasses.floatValues(), x = inputs.floatValues()
            for b in [0, 5] {
                let one = Tensor(floats: Array(x[(b * per)..<((b + 1) * per)]), shape: [1] + inputs.shape.dropFirst())
                let y = try exec.run(["image": one])["logits"]!.floatValues()
                XCTAssertEqual(y.map(\.bitPattern), all[(b * y.count)..<((b + 1) * y.count)].map(\.bitPattern), "\(name): image \(b) alone")
            }
            // Golden vectors verify at 1 and 8 threads.
            for threads in [1, 8] {
                XCTAssertTrue(try GoldenCheck.run(file.model, threads: threads).allSatisfy(\.identical), "\(name) golden @\(threads)")
            }
        }
    }

    func testConversionIsByteIdentical() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.vmoe").path, b = dir.appendingPathComponent("b.vmoe").path
        for name in Fixtures.names {
            _ = try Converter.convert(input: Fixtures.path("\(name)/model.h5"), output: a, options: ConvertOptions())
            var o = ConvertOptions()
            o.threads = 3
            _ = try Converter.convert(input: Fixtures.path("\(name)/model.h5"), output: b, options: o)
            XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b), name)
        }
    }

    func testMobileVMoERoutesLikePyTorch() throws {
        // PyTorch's chosen experts per image are in reference.json; the graph's route node must agree.
        for name in ["vmoe_shared", "vmoe_perlayer"] {
            let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("\(name)/reference.json")))) as! [String: Any]
            let routes = ref["routes"] as! [[String: Any]]
            var g = try Converter.importModel(path: Fixtures.path("\(name)/model.h5"), options: ConvertOptions()).graph
            let routeNodes = g.nodes.filter { if case .route = $0.op { return true } else { return false } }
            g.outputs = routeNodes.map { $0.outputs[0] }
            let outs = try Executor(graph: g, threads: 1).run(["image": try NPY.read(path: Fixtures.path("\(name)/inputs.npy"))])
            let experts = routeNodes.map { outs[$0.outputs[0]]!.floatValues().map { Int($0) } }
            let want = routes.map { ($0["experts"] as! [[Int]]).flatMap { $0 } }
            if routeNodes.count == 1 {
                XCTAssertEqual(experts[0], want[0], name)  // shared: one router serves every MoE block
                XCTAssertTrue(want.allSatisfy { $0 == want[0] })
            } else {
                XCTAssertEqual(experts, want, name)
            }
            XCTAssertGreaterThan(Set(experts.flatMap { $0 }).count, 1, "\(name): images reach different experts")
        }
    }
}
