import Foundation
import XCTest
import VMoECore
import VMoEIR
import VMoEFormat
import VMoERuntime
import VMoEConvert
import VMoEONNX

/// ONNX exports of the fixtures against onnxruntime's logits, and the importer's error paths.
final class ONNXConformanceTests: XCTestCase {
    /// (fixture, file, logits file, batch of the reference)
    let cases: [(String, String, String, Int)] = [
        ("vit", "model.onnx", "onnx_logits.npy", 8),
        ("vit", "model_static.onnx", "onnx_logits_static.npy", 1),
        ("vmoe_shared", "model.onnx", "onnx_logits.npy", 8),
        ("vmoe_perlayer", "model.onnx", "onnx_logits.npy", 8),
        ("vmoe_perlayer", "model_dynamo.onnx", "onnx_logits_dynamo.npy", 8),
    ]

    func testExportsMatchOnnxRuntimeAndTheHDF5Path() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (fixture, file, ref, batch) in cases {
            let inputs = try NPY.read(path: Fixtures.path("\(fixture)/inputs.npy"))
            let x = batch == 8 ? inputs : Tensor(floats: Array(inputs.floatValues().prefix(inputs.elementCount / 8)), shape: [1] + inputs.shape.dropFirst())
            let reference = try NPY.read(path: Fixtures.path("\(fixture)/\(ref)"))
            let out = dir.appendingPathComponent("\(fixture)-\(file).vmoe").path
            let report = try Converter.convert(input: Fixtures.path("\(fixture)/\(file)"), output: out, options: ConvertOptions())
            let f = try VMoEFile.open(path: out)
            XCTAssertTrue(try GoldenCheck.run(f.model, threads: 2).allSatisfy(\.identical), "\(fixture)/\(file) verify")
            let y = try Executor(graph: f.model.graph, threads: 2).run(["image": x])["logits"]!
            let d = Fixtures.maxAbsDiff(y, reference)
            print("onnx \(fixture)/\(file): max |Δ| vs onnxruntime = \(d); \((report.notes + report.warnings).joined(separator: " | "))")
            XCTAssertLessThanOrEqual(d, 1e-4, "\(fixture)/\(file)")
            if batch == 8 {
                // Dynamic batch: batch 1 works too and equals the batch-8 rows bit for bit.
                let one = Tensor(floats: Array(inputs.floatValues().prefix(inputs.elementCount / 8)), shape: [1] + inputs.shape.dropFirst())
                let y1 = try Executor(graph: f.model.graph, threads: 1).run(["image": one])["logits"]!.floatValues()
                XCTAssertEqual(y1.map(\.bitPattern), Array(y.floatValues().prefix(y1.count)).map(\.bitPattern))
            } else {
                XCTAssertThrowsError(try Executor(graph: f.model.graph, threads: 1).run(["image": inputs]), "a fixed-batch model refuses batch 8")
            }
        }
    }

    func testONNXAndHDF5GiveBitIdenticalOutputs() throws {
        for (fixture, file) in [("vit", "model.onnx"), ("vmoe_shared", "model.onnx"), ("vmoe_perlayer", "model.onnx"), ("vmoe_perlayer", "model_dynamo.onnx")] {
            let inputs = try NPY.read(path: Fixtures.path("\(fixture)/inputs.npy"))
            var o = ConvertOptions()
            o.passes = []
            let a = try Converter.importModel(path: Fixtures.path("\(fixture)/\(file)"), options: o).graph
            let b = try Converter.importModel(path: Fixtures.path("\(fixture)/model.h5"), options: o).graph
            let ya = try Executor(graph: a, threads: 2).run(["image": inputs])["logits"]!
            let yb = try Executor(graph: b, threads: 2).run(["image": inputs])["logits"]!
            XCTAssertTrue(ya.bitwiseEqual(yb), "\(fixture)/\(file): ONNX and HDF5 paths differ by \(Fixtures.maxAbsDiff(ya, yb))")
            XCTAssertFalse(a.nodes.contains { if case .generic = $0.op { return true } else { return false } }, "\(fixture)/\(file): every op raised")
        }
    }

    func testMoEIsRecognised() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (fixture, experts, routers) in [("vmoe_shared", 10, 1), ("vmoe_perlayer", 4, 2)] {
            let out = dir.appendingPathComponent("\(fixture).vmoe").path
            XCTAssertEqual(Fixtures.convert([Fixtures.path("\(fixture)/model.onnx"), out, "--quiet"]).code, 0)
            let i = Fixtures.vmoe(["inspect", out, "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(i.out.joined(separator: "\n").utf8)) as! [String: Any]
            let routing = json["routing"] as! [String]
            XCTAssertEqual(routing.filter { $0.contains("moe") && $0.contains("\(experts) experts") }.count, 2, "\(routing)")
            XCTAssertEqual(routing.filter { $0.contains("top-") }.count, routers, "\(routing)")
            let config = json["config"] as! [String: Any]
            XCTAssertEqual(config["family"] as? String, "vmoe")
            XCTAssertEqual(config["num_experts"] as? Int, experts)
        }
    }

    func testBadModelsFailCleanly() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, [String])] = [
            ("unsupported_ops.onnx", ["(ai.onnx, LSTM, opset 17) at lstm_0", "(ai.onnx, NonMaxSuppression, opset 17) at nms_0", "(com.example, FancyOp, opset 1) at custom_0"]),
            ("dangling.onnx", ["node 'matmul'", "'nowhere'"]),
            ("cycle.onnx", ["node 'first'", "not topologically sorted or has a cycle"]),
            ("opset12.onnx", ["opset 12 is not supported"]),
            ("shape_mismatch.onnx", ["node 'matmul'", "inner dimensions differ"]),
            ("truncated.onnx", ["protobuf decoding failed"]),
            ("external_escape.onnx", ["tensor 'w'", "leaves the model's folder"]),
            ("external_absolute.onnx", ["tensor 'w'", "is absolute"]),
            ("external_range.onnx", ["tensor 'w'", "lies outside"]),
        ]
        for (file, needles) in cases {
            let out = dir.appendingPathComponent("out.vmoe").path
            let r = Fixtures.convert([Fixtures.path("bad/\(file)"), out, "--quiet"])
            XCTAssertEqual(r.code, 1, file)
            XCTAssertEqual(r.errorLines.count, 1, "\(file): \(r.err)")
            for n in needles { XCTAssertTrue(r.errorLines.first?.contains(n) ?? false, "\(file): want '\(n)' in \(r.errorLines)") }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "\(file) left files behind")
        }
        XCTAssertEqual(Fixtures.convert([Fixtures.path("bad/tiny.onnx"), dir.appendingPathComponent("t.vmoe").path, "--quiet"]).code, 0)
    }

    /// A loop-over-experts MoE traced on one image: the experts it did not reach are named.
    func testUnreachableExpertsAreReported() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = Fixtures.convert([Fixtures.path("bad/baked_routes.onnx"), dir.appendingPathComponent("b.vmoe").path, "--quiet"])
        XCTAssertEqual(r.code, 0, "\(r.err)")
        let warnings = r.err.filter { $0.contains("can never be reached") }
        XCTAssertEqual(warnings.count, 2, "\(r.err)")
        XCTAssertTrue(warnings.contains { $0.contains("experts [1, 2]") })
        XCTAssertTrue(warnings.contains { $0.contains("experts [2, 3]") })
    }
}

/// Replays inputs the ONNX fuzz target (scripts/fuzz.sh onnx) found problems with, plus mutations of
/// the bad fixtures: each must end in a graph or an error.
final class ONNXFuzzRegressionTests: XCTestCase {
    func testCrashersAndMutationsNeverCrash() throws {
        let dir = Fixtures.root.appendingPathComponent("fuzz/crashers-onnx")
        var inputs = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0 != ".keep" }
            .compactMap { try? Data(contentsOf: dir.appendingPathComponent($0)) }
        let seed = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bad/tiny.onnx")))
        var rng: UInt64 = 7
        for _ in 0..<2000 {
            var b = [UInt8](seed)
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            b[Int(rng >> 33) % b.count] = UInt8(truncatingIfNeeded: rng >> 13)
            inputs.append(Data(b))
        }
        for d in inputs {
            if let m = try? VMoEONNX.ONNXModel.decode(d, path: "/nonexistent/x.onnx") { _ = try? VMoEONNX.ONNXImporter.importModel(m) }
        }
    }
}
