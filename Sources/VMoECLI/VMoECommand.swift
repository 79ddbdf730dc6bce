import Foundation
import VMoECore
import VMoEIR
import VMoEFormat
import VMoERuntime

/// `vmoe`: run, verify and inspect `.vmoe` files with the reference runtime.
public enum VMoECommand {
    public static let usage = """
    usage: vmoe run MODEL.vmoe --input X.npy --output Y.npy [--threads N] [--json]
           vmoe verify MODEL.vmoe [--threads N] [--json]
           vmoe inspect MODEL.vmoe [--json]
           vmoe bench MODEL.vmoe [--batch B] [--iterations N] [--threads N] [--json]

      run       float32 [B,C,H,W] images (.npy, C order) → float32 [B,classes] logits (.npy)
      verify    check every checksum and layout rule, recompute the golden outputs and compare
                them bit for bit
      inspect   config, routing, experts, super-class map, tensors, provenance
      bench     load time, median batch latency, images/s and peak RSS on seeded inputs

    Threads: --threads N, else VMOE_THREADS, else all CPUs; results are identical for any count.
    exit status: 0 ok, 1 unreadable or damaged file / bad input, 2 bad command line,
                 3 verify: outputs differ from the golden outputs
    """

    public static func main(_ argv: [String], io: Output = .standard) -> Int32 {
        guard let sub = argv.first, !["-h", "--help", "help"].contains(sub) else {
            io.out(usage)
            return argv.isEmpty ? ExitCode.usage : ExitCode.ok
        }
        let args: Arguments
        do {
            args = try Arguments(Array(argv.dropFirst()), flags: ["help", "json"], options: ["input", "output", "threads", "batch", "iterations"])
            if args.flags.contains("help") { io.out(usage); return ExitCode.ok }
            guard args.positionals.count == 1 else { throw Arguments.UsageError("\(sub) takes one MODEL.vmoe argument, got \(args.positionals.count)") }
        } catch {
            io.err("vmoe: error: \(error)\n\(usage)")
            return ExitCode.usage
        }
        let path = args.positionals[0]
        do {
            switch sub {
            case "run": return try run(path, args, io)
            case "verify": return try verify(path, args, io)
            case "inspect": return try inspect(path, args, io)
            case "bench": return try bench(path, args, io)
            default:
                io.err("vmoe: error: unknown command '\(sub)'\n\(usage)")
                return ExitCode.usage
            }
        } catch let e as Arguments.UsageError {
            io.err("vmoe: error: \(e)")
            return ExitCode.usage
        } catch let e as FormatError {
            io.err("vmoe: error: \(path): \(e)")
            return ExitCode.failure
        } catch {
            io.err("vmoe: error: \(error)")
            return ExitCode.failure
        }
    }

    static func run(_ path: String, _ args: Arguments, _ io: Output) throws -> Int32 {
        guard let inPath = args.options["input"], let outPath = args.options["output"] else {
            throw Arguments.UsageError("run needs --input X.npy and --output Y.npy")
        }
        let threads = try threadCount(args)
        let file = try VMoEFile.open(path: path)
        let images = try NPY.read(path: inPath)
        let graph = file.model.graph
        guard let input = graph.inputs.first else { throw RuntimeError.missingInput(name: "image") }
        let exec = try Executor(graph: graph, threads: threads)
        let start = Date()
        let outs: [String: Tensor]
        do { outs = try exec.run([input.name: images]) } catch let RuntimeError.inputType(_, e, a) {
            throw RuntimeError.golden(reason: "\(inPath): images are \(a), the model expects \(e)")
        }
        let seconds = Date().timeIntervalSince(start)
        guard let logits = outs[graph.outputs[0]] else { throw RuntimeError.golden(reason: "no output") }
        try NPY.write(logits, path: outPath)
        guard logits.shape.count == 2, logits.shape[1] >= 1 else {
            throw RuntimeError.golden(reason: "\(path): the model's output is \(logits.shape), not [batch, classes]")
        }
        let names = file.model.metadata.config.classNames
        let classes = logits.shape[1], values = logits.floatValues()
        var top = [[String: String]]()
        for b in 0..<logits.shape[0] {
            let row = values[(b * classes)..<((b + 1) * classes)]
            let best = (row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? b * classes) - b * classes
            top.append(["image": String(b), "class": String(best), "name": names.flatMap { best < $0.count ? $0[best] : nil } ?? "", "logit": String(row[b * classes + best])])
        }
        if args.flags.contains("json") {
            struct Report: Encodable { var output: String; var shape: [Int]; var threads: Int; var seconds: Double; var top1: [[String: String]] }
            io.json(Report(output: outPath, shape: logits.shape, threads: threads, seconds: seconds, top1: top))
        } else {
            for t in top {
                let name = t["name", default: ""]
                io.out("image \(t["image", default: ""]): class \(t["class", default: ""])\(name.isEmpty ? "" : " (\(name))") logit \(t["logit", default: ""])")
            }
            io.out("wrote \(outPath): float32 \(logits.shape) in \(String(format: "%.3f", seconds)) s on \(threads) thread(s)")
        }
        return ExitCode.ok
    }

    static func verify(_ path: String, _ args: Arguments, _ io: Output) throws -> Int32 {
        let threads = try threadCount(args)
        struct Report: Encodable {
            var file: String; var ok: Bool; var error: String?; var tensors: Int?; var threads: Int
            var outputs: [GoldenCheck.OutputResult]
            var goldenExperts: [String: [Int]]?
            enum CodingKeys: String, CodingKey { case file, ok, error, tensors, threads, outputs, goldenExperts = "golden_experts" }
        }
        let file: VMoEFile
        do { file = try VMoEFile.open(path: path) } catch let e as FormatError {
            if args.flags.contains("json") { io.json(Report(file: path, ok: false, error: e.description, tensors: nil, threads: threads, outputs: [], goldenExperts: nil)) }
            io.err("vmoe: error: verify failed: \(path): \(e)")
            return ExitCode.failure
        }
        let (results, experts) = try GoldenCheck.runWithCoverage(file.model, threads: threads)
        let ok = results.allSatisfy(\.identical)
        if args.flags.contains("json") {
            io.json(Report(file: path, ok: ok, error: nil, tensors: file.tensors.count, threads: threads, outputs: results, goldenExperts: experts))
        } else {
            for (router, e) in experts.sorted(by: { $0.key < $1.key }) { io.out("golden images route through experts \(e) of '\(router)'") }
            io.out("\(path): layout and \(file.tensors.count + 4) checksums ok (\(file.fileSize) bytes)")
            for r in results {
                if r.identical {
                    io.out("golden output '\(r.output)' \(r.shape): bit-identical on \(threads) thread(s)")
                } else {
                    io.out("golden output '\(r.output)' \(r.shape): MISMATCH at element \(r.firstMismatch ?? -1): expected \(r.expected.map { "\($0)" } ?? "?"), got \(r.actual.map { "\($0)" } ?? "?"); max |Δ| \(r.maxAbsDiff)")
                }
            }
        }
        if !ok { io.err("vmoe: error: verify failed: \(path): golden output '\(results.first { !$0.identical }!.output)' differs") }
        return ok ? ExitCode.ok : ExitCode.mismatch
    }
}
