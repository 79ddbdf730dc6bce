import Foundation
import XCTest
import VMoECore
import VMoEIR
import VMoEFormat
import VMoERuntime
import VMoEConvert
import VMoEPasses

/// The passes on the fixtures: verifier and bit-for-bit verify after each, pruning exactness,
/// quantization size/agreement targets, and flag errors.
final class PassTests: XCTestCase {
    let calibration = Fixtures.path("calibration.npy")

    func options(_ edit: (inout ConvertOptions) -> Void) -> ConvertOptions {
        var o = ConvertOptions()
        o.calibrationPath = calibration
        edit(&o)
        return o
    }

    func logits(_ g: Graph, _ x: Tensor) throws -> Tensor { try Executor(graph: g, threads: 2).run(["image": x])["logits"]! }

    func testEveryPassKeepsVerifyBitForBit() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let variants: [(String, (inout ConvertOptions) -> Void)] = [
            ("none", { $0.passes = [] }),
            ("fold", { $0.passes = ["fold"] }),
            ("prune", { $0.pruneUnusedExperts = true }),
            ("fp16", { $0.quantize = .fp16 }),
            ("int8", { $0.quantize = .int8 }),
            ("int4", { $0.quantize = .int4 }),
            ("experts-int4", { $0.quantize = .int8; $0.quantizeExperts = .int4 }),
        ]
        for name in Fixtures.names {
            let cfg = try Converter.importModel(path: Fixtures.path("\(name)/model.h5"), options: ConvertOptions()).config
            for (label, edit) in variants {
                if label == "prune" && !cfg.isMoE { continue }
                let out = dir.appendingPathComponent("\(name)-\(label).vmoe").path
                _ = try Converter.convert(input: Fixtures.path("\(name)/model.h5"), output: out, options: options(edit))
                let file = try VMoEFile.open(path: out)
                try file.model.graph.verify()
                XCTAssertTrue(try GoldenCheck.run(file.model, threads: 3).allSatisfy(\.identical), "\(name) \(label)")
                XCTAssertEqual(file.model.metadata.provenance.passes.map(\.name).last, label == "none" ? nil : (label == "fold" ? "fold" : (label == "prune" ? "prune" : "quantize")))
            }
        }
    }

    func testPruningUnusedExpertsIsExactOnCalibrationImages() throws {
        let calib = try NPY.read(path: calibration)
        for name in ["vmoe_shared", "vmoe_perlayer"] {
            let h5 = Fixtures.path("\(name)/model.h5")
            let (base, _, _) = try Converter.prepare(input: h5, options: ConvertOptions())
            let (pruned, _, reports) = try Converter.prepare(input: h5, options: options { $0.pruneUnusedExperts = true })
            var removed = -1
            if case let .number(n)? = reports.last!.details["experts_removed"] { removed = Int(n) }
            if name == "vmoe_shared" { XCTAssertGreaterThan(removed, 0, "the shared fixture has experts no calibration image uses") }
            XCTAssertLessThan(pruned.graph.constantBytes, base.graph.constantBytes + (removed == 0 ? 1 : 0))
            XCTAssertTrue(try logits(pruned.graph, calib).bitwiseEqual(try logits(base.graph, calib)), "\(name): pruned outputs must be bit-identical on calibration images")
        }
    }

    func testMinShareFallsBackAndReportsAffectedImages() throws {
        let calib = try NPY.read(path: calibration)
        let h5 = Fixtures.path("vmoe_shared/model.h5")
        let (base, _, _) = try Converter.prepare(input: h5, options: ConvertOptions())
        let (pruned, _, reports) = try Converter.prepare(input: h5, options: options { $0.pruneUnusedExperts = true; $0.minExpertShare = 0.2 })
        guard case let .array(routers)? = reports.last?.details["routers"], case let .object(r0)? = routers.first,
              case let .number(affected)? = r0["affected_calibration_images"], case let .array(removed)? = r0["removed"] else {
            return XCTFail("no router report")
        }
        XCTAssertGreaterThan(removed.count, 0)
        // Images whose expert survived: bit-identical; the others differ, and their number is reported.
        let routeValue = base.graph.nodes.first { if case .route = $0.op { return true } else { return false } }!.outputs[0]
        let experts = try Executor(graph: base.graph, threads: 1).run(["image": calib], fetch: [routeValue])[routeValue]!.floatValues().map { Int($0) }
        let removedIds = Set(removed.compactMap { if case let .number(n) = $0 { return Int(n) } else { return nil } })
        let a = try logits(base.graph, calib).floatValues(), b = try logits(pruned.graph, calib).floatValues()
        var lost = 0
        for i in 0..<calib.shape[0] {
            let same = a[(i * 10)..<(i * 10 + 10)].map(\.bitPattern) == b[(i * 10)..<(i * 10 + 10)].map(\.bitPattern)
            if removedIds.contains(experts[i]) { lost += 1 } else { XCTAssertTrue(same, "image \(i) kept its expert") }
        }
        XCTAssertEqual(Double(lost), affected)
    }

    func testKeepClassesSlicesHeadAndExperts() throws {
        let calib = try NPY.read(path: calibration)
        let h5 = Fixtures.path("vmoe_perlayer/model.h5")   // super-classes: 0,0,0,1,1,1,2,2,2,3,3,3
        let keep = [4, 3, 5]                                  // all in super-class 1
        let (base, _, _) = try Converter.prepare(input: h5, options: ConvertOptions())
        let (pruned, _, reports) = try Converter.prepare(input: h5, options: options { $0.keepClasses = "4,3,5" })
        XCTAssertEqual(pruned.metadata.config.numClasses, 3)
        XCTAssertEqual(pruned.metadata.config.superclassOfClass, [1, 1, 1])
        XCTAssertTrue(reports.last!.notes.contains { $0.contains("head sliced") })
        // Images whose chosen experts all survived: kept columns bit-identical.
        let routes = base.graph.nodes.filter { if case .route = $0.op { return true } else { return false } }.map { $0.outputs[0] }
        let outs = try Executor(graph: base.graph, threads: 1).run(["image": calib], fetch: routes)
        let prunedRoutes = pruned.graph.nodes.compactMap { n -> [Int]? in if case let .route(s) = n.op { return s.allowed ?? Array(0..<1000) } else { return nil } }
        let a = outs["logits"]!.floatValues(), b = try logits(pruned.graph, calib).floatValues()
        var checked = 0
        for i in 0..<calib.shape[0] {
            let survived = routes.indices.allSatisfy { r in
                let k = outs[routes[r]]!.shape[1]
                return (0..<k).allSatisfy { prunedRoutes[r].contains(Int(outs[routes[r]]!.floatValues()[i * k + $0])) }
            }
            guard survived else { continue }
            checked += 1
            XCTAssertEqual(keep.map { a[i * 12 + $0].bitPattern }, (0..<3).map { b[i * 3 + $0].bitPattern }, "image \(i)")
        }
        XCTAssertGreaterThan(checked, 0)
        // Class names work too.
        let (named, _, _) = try Converter.prepare(input: Fixtures.path("vmoe_shared/model.h5"), options: options { $0.keepClasses = "cat,dog" })
        XCTAssertEqual(named.metadata.config.classNames, ["cat", "dog"])
    }

    func testQuantizationMeetsSizeAndAgreementTargets() throws {
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let h5 = Fixtures.path("vmoe_shared/model.h5")   // the weight-dominated fixture
        func size(_ o: ConvertOptions, _ n: String) throws -> (Double, [PassReport]) {
            let out = dir.appendingPathComponent(n).path
            let r = try Converter.convert(input: h5, output: out, options: o)
            return (Double(r.fileBytes), r.passes)
        }
        let (f32, _) = try size(ConvertOptions(), "f32.vmoe")
        func agreement(_ r: [PassReport]) -> Double {
            if case let .number(v)? = r.last?.details["top1_agreement"] { return v }
            return -1
        }
        let (fp16, r16) = try size(options { $0.quantize = .fp16 }, "fp16.vmoe")
        let (int8, r8) = try size(options { $0.quantize = .int8 }, "int8.vmoe")
        let (int4, r4) = try size(options { $0.quantize = .int4 }, "int4.vmoe")
        print("quantize vmoe_shared: fp16 \(fp16 / f32) agree \(agreement(r16)); int8 \(int8 / f32) agree \(agreement(r8)); int4 \(int4 / f32) agree \(agreement(r4))")
        XCTAssertLessThanOrEqual(int8 / f32, 0.27)
        XCTAssertLessThanOrEqual(int4 / f32, 0.16)
        XCTAssertGreaterThanOrEqual(agreement(r16), 0.999)
        XCTAssertGreaterThanOrEqual(agreement(r8), 0.99)
        XCTAssertGreaterThan(agreement(r4), 0)
    }

    func testBadPassFlags() {
        let dir = (try? Fixtures.tempDir())!
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("o.vmoe").path
        let shared = Fixtures.path("vmoe_shared/model.h5")
        let cases: [([String], Int32, String)] = [
            ([shared, out, "--keep-classes", "unicorn"], 1, "unknown class 'unicorn'"),
            ([shared, out, "--keep-classes", "42"], 1, "class 42 does not exist"),
            ([shared, out, "--keep-classes", ","], 1, "empty"),
            ([shared, out, "--prune-unused-experts", "--calibration", calibration, "--min-expert-share", "1.5"], 2, "[0, 1)"),
            ([shared, out, "--prune-unused-experts"], 1, "needs --calibration"),
            ([shared, out, "--quantize", "int3"], 2, "fp16, int8, int4"),
            ([shared, out, "--passes", "fold,magic"], 1, "unknown pass 'magic'"),
            ([Fixtures.path("bad/tiny_vit.h5"), out, "--quantize", "int4"], 1, "multiple of 32"),
            ([shared, out, "--quantize", "int8", "--keep-float", "("], 1, "regular expression"),
        ]
        for (args, code, needle) in cases {
            let r = Fixtures.convert(args + ["--quiet"])
            XCTAssertEqual(r.code, code, "\(args)")
            XCTAssertTrue(r.errorLines.first?.contains(needle) ?? false, "\(args): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) left an output")
        }
        let ok = Fixtures.convert([Fixtures.path("bad/tiny_vit.h5"), out, "--quantize", "int4", "--int4-fallback", "int8", "--quiet"])
        XCTAssertEqual(ok.code, 0, "\(ok.err)")
        XCTAssertTrue(ok.out.contains { $0.contains("stored int8") })
    }
}
