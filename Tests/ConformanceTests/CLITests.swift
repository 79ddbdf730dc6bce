import Foundation
import XCTest
import VMoECore
import VMoEFormat
import VMoECLI

final class CLITests: XCTestCase {
    func testConvertVerifyRunInspect() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.vmoe").path
        let c = Fixtures.convert([Fixtures.path("vmoe_shared/model.h5"), model, "--quiet"])
        XCTAssertEqual(c.code, 0, c.err.joined(separator: "\n"))
        for t in ["1", "8"] {
            let v = Fixtures.vmoe(["verify", model, "--threads", t])
            XCTAssertEqual(v.code, 0, v.err.joined(separator: "\n"))
            XCTAssertTrue(v.out.contains { $0.contains("bit-identical") })
        }
        // The two golden images are chosen to reach two different experts (k = 1: the most two can).
        let vj = Fixtures.vmoe(["verify", model, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(vj.out.joined(separator: "\n").utf8)) as! [String: Any]
        XCTAssertEqual((report["golden_experts"] as? [String: [Int]])?["router"]?.count, 2, "\(report)")
        let out = dir.appendingPathComponent("y.npy").path
        let r = Fixtures.vmoe(["run", model, "--input", Fixtures.path("vmoe_shared/inputs.npy"), "--output", out])
        XCTAssertEqual(r.code, 0, r.err.joined(separator: "\n"))
        let y = try NPY.read(path: out)
        XCTAssertEqual(y.shape, [8, 10])
        XCTAssertLessThanOrEqual(Fixtures.maxAbsDiff(y, try NPY.read(path: Fixtures.path("vmoe_shared/reference_logits.npy"))), 1e-4)
        XCTAssertTrue(r.out.contains { $0.contains("(") }, "class names are shown")

        let i = Fixtures.vmoe(["inspect", model, "--json"])
        XCTAssertEqual(i.code, 0)
        let json = try JSONSerialization.jsonObject(with: Data(i.out.joined(separator: "\n").utf8)) as! [String: Any]
        let config = json["config"] as! [String: Any]
        XCTAssertEqual(config["num_experts"] as? Int, 10)
        let routing = json["routing"] as! [String]
        XCTAssertEqual(routing.filter { $0.contains("10 experts") }.count, 3, "\(routing)")
        let text = Fixtures.vmoe(["inspect", model])
        XCTAssertTrue(text.out.contains { $0.contains("super-class map") })
        XCTAssertTrue(text.out.contains { $0.contains("sha256") })
    }

    func testBadCheckpointsFailCleanly() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String)] = [
            ("bad/missing_tensor.h5", "blocks.0.attn.proj.weight"),
            ("bad/wrong_shape.h5", "head.bias"),
            ("bad/config_mismatch.h5", "patch_embed.proj.weight"),
            ("bad/no_config.h5", "'heads'"),
            ("bad/truncated.h5", "truncated.h5"),
            ("bad/not_hdf5.h5", "not an HDF5 file"),
            ("bad/bad_config_json.h5", "'config'"),
            ("bad/int_tensor.h5", "norm.weight"),
            ("bad/does_not_exist.h5", "no such file"),
        ]
        for (input, needle) in cases {
            let out = dir.appendingPathComponent("out.vmoe").path
            let r = Fixtures.convert([Fixtures.path(input), out])
            XCTAssertEqual(r.code, 1, input)
            XCTAssertEqual(r.errorLines.count, 1, "\(input): \(r.err)")
            XCTAssertTrue(r.errorLines.first?.contains(needle) ?? false, "\(input): \(r.errorLines)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "\(input) left files behind")
        }
    }

    func testConfigFromFileAndUnknownTensorsReported() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.vmoe").path
        let a = Fixtures.convert([Fixtures.path("bad/no_config.h5"), out, "--config", Fixtures.path("bad/tiny_config.json")])
        XCTAssertEqual(a.code, 0, a.err.joined(separator: "\n"))
        let b = Fixtures.convert([Fixtures.path("bad/unknown_extra.h5"), out])
        XCTAssertEqual(b.code, 0)
        XCTAssertTrue(b.err.contains { $0.contains("warning") && $0.contains("extra.unused") }, "\(b.err)")
        XCTAssertTrue(Fixtures.vmoe(["inspect", out]).out.contains { $0.contains("extra.unused") })
        let dump = Fixtures.convert([Fixtures.path("vmoe_perlayer/model.h5"), "--dump-ir"])
        XCTAssertEqual(dump.code, 0)
        XCTAssertTrue(dump.out.contains { $0.contains("= route[input=mean, k=2, gate=softmax]") }, dump.out.joined(separator: "\n"))
    }

    func testUsageErrors() {
        XCTAssertEqual(Fixtures.convert([]).code, 2)
        XCTAssertEqual(Fixtures.convert(["a.h5", "b.vmoe", "--bogus"]).code, 2)
        XCTAssertEqual(Fixtures.convert(["a.h5", "b.vmoe", "--golden-count", "0"]).code, 2)
        XCTAssertEqual(Fixtures.convert(["--help"]).code, 0)
        XCTAssertEqual(Fixtures.vmoe(["frobnicate", "x.vmoe"]).code, 2)
        XCTAssertEqual(Fixtures.vmoe(["run", "x.vmoe"]).code, 2)
        XCTAssertEqual(Fixtures.vmoe([]).code, 2)
    }

    func testDamagedAndMismatchedFiles() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.vmoe").path
        XCTAssertEqual(Fixtures.convert([Fixtures.path("vit/model.h5"), model, "--quiet"]).code, 0)
        let file = try VMoEFile.open(path: model)
        var bytes = [UInt8](FileManager.default.contents(atPath: model)!)
        let victim = file.tensors.first { $0.name == "blocks.2.mlp.fc1.weight" }!
        bytes[victim.offset + 100] ^= 1
        let damaged = dir.appendingPathComponent("damaged.vmoe").path
        FileManager.default.createFile(atPath: damaged, contents: Data(bytes))
        let v = Fixtures.vmoe(["verify", damaged])
        XCTAssertEqual(v.code, 1)
        XCTAssertTrue(v.errorLines.first?.contains("blocks.2.mlp.fc1.weight") ?? false, "\(v.err)")
        let truncated = dir.appendingPathComponent("truncated.vmoe").path
        FileManager.default.createFile(atPath: truncated, contents: Data(bytes[0..<(bytes.count / 2)]))
        let t = Fixtures.vmoe(["verify", truncated, "--json"])
        XCTAssertEqual(t.code, 1)
        XCTAssertTrue(t.out.joined().contains("\"ok\" : false"))

        // Intact file whose golden output is wrong: checksums pass, recomputation does not.
        var m = file.model
        var golden = m.goldenOutputs["logits"]!.floatValues()
        golden[3] = golden[3].nextUp
        m.goldenOutputs["logits"] = Tensor(floats: golden, shape: m.goldenOutputs["logits"]!.shape)
        let wrong = dir.appendingPathComponent("wrong.vmoe").path
        try VMoEWriter.write(m, to: wrong)
        let w = Fixtures.vmoe(["verify", wrong])
        XCTAssertEqual(w.code, 3)
        XCTAssertTrue(w.out.contains { $0.contains("MISMATCH at element 3") }, "\(w.out)")
    }

    /// The real executable: exit status and stderr as a shell sees them.
    func testExecutableExitStatus() throws {
        let exe = Fixtures.root.appendingPathComponent(".build/debug/vmoe-convert")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exe.path), "vmoe-convert not built")
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = exe
        p.arguments = [Fixtures.path("bad/missing_tensor.h5"), dir.appendingPathComponent("o.vmoe").path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("error:") && text.contains("blocks.0.attn.proj.weight"), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
