import Foundation
import XCTest
import VMoECore
import VMoECLI

/// Paths of the committed fixtures and helpers to run the CLIs in-process.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let names = ["vit", "vmoe_shared", "vmoe_perlayer"]

    static func path(_ rel: String) -> String { root.appendingPathComponent("fixtures").appendingPathComponent(rel).path }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("vmoe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    struct Result {
        var code: Int32
        var out: [String]
        var err: [String]
        var errorLines: [String] { err.filter { $0.contains("error") } }
    }

    static func convert(_ args: [String]) -> Result { capture { ConvertCommand.main(args, io: $0) } }
    static func vmoe(_ args: [String]) -> Result { capture { VMoECommand.main(args, io: $0) } }

    static func capture(_ body: (Output) -> Int32) -> Result {
        var out = [String](), err = [String]()
        let io = Output(out: { out += $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) },
                        err: { err += $0.split(separator: "\n").map(String.init) })
        let code = body(io)
        return Result(code: code, out: out, err: err)
    }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.floatValues(), b.floatValues()).map { abs($0 - $1) }.max() ?? .infinity
    }
}
