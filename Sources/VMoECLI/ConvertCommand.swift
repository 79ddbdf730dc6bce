import Foundation
import VMoECore
import VMoEIR
import VMoEConvert

/// `vmoe-convert`: checkpoint → `.vmoe`.
public enum ConvertCommand {
    public static let usage = """
    usage: vmoe-convert INPUT.h5 OUTPUT.vmoe [options]
           vmoe-convert INPUT.h5 --dump-ir [--config FILE.json]

    Converts a ViT or Mobile V-MoE checkpoint (HDF5, timm state-dict names, config as the JSON root
    attribute 'config') into a verified .vmoe file. The output is written atomically.

    options:
      --config FILE.json     supply or override config keys (see docs/hdf5-input.md)
      --golden-count N       golden images stored with the model (default 2)
      --golden-seed S        seed of the golden images (default 0)
      --golden-input X.npy   use these float32 [N,C,H,W] images as golden inputs instead
      --threads N            threads for computing golden outputs (default: VMOE_THREADS or all CPUs)
      --dump-ir              print the graph IR
      --json                 print the conversion report as JSON
      --quiet                no progress messages
      -h, --help             this help

    exit status: 0 converted, 1 bad input or I/O error (no output file is left), 2 bad command line
    """

    public static func main(_ argv: [String], io: Output = .standard) -> Int32 {
        let args: Arguments
        do {
            args = try Arguments(argv, flags: ["help", "dump-ir", "json", "quiet"],
                                 options: ["config", "golden-count", "golden-seed", "golden-input", "threads"])
        } catch {
            io.err("vmoe-convert: error: \(error)\n\(usage)")
            return ExitCode.usage
        }
        if args.flags.contains("help") { io.out(usage); return ExitCode.ok }
        let dumpOnly = args.flags.contains("dump-ir") && args.positionals.count == 1
        guard args.positionals.count == 2 || dumpOnly else {
            io.err("vmoe-convert: error: expected INPUT and OUTPUT, got \(args.positionals.count) argument(s)\n\(usage)")
            return ExitCode.usage
        }
        var options = ConvertOptions()
        do {
            options.configPath = args.options["config"]
            options.goldenCount = try args.int("golden-count", default: 2, range: 1...64)
            if let s = args.options["golden-seed"] {
                guard let v = UInt64(s) else { throw Arguments.UsageError("--golden-seed must be a non-negative integer, got '\(s)'") }
                options.goldenSeed = v
            }
            options.goldenInputPath = args.options["golden-input"]
            options.threads = try threadCount(args)
        } catch {
            io.err("vmoe-convert: error: \(error)")
            return ExitCode.usage
        }
        let input = args.positionals[0]
        do {
            if args.flags.contains("dump-ir") {
                io.out(try Converter.importModel(path: input, options: options).graph.textDump())
                if dumpOnly { return ExitCode.ok }
            }
            let quiet = args.flags.contains("quiet") || args.flags.contains("json")
            let report = try Converter.convert(input: input, output: args.positionals[1], options: options,
                                               progress: { if !quiet { io.err("vmoe-convert: \($0)") } })
            for w in report.warnings { io.err("vmoe-convert: warning: \(w)") }
            if args.flags.contains("json") { io.json(report) } else {
                io.out("converted \(report.input) → \(report.output): \(report.family), \(report.nodes) nodes, \(report.parameters) parameters, \(report.fileBytes) bytes in \(String(format: "%.2f", report.seconds)) s")
            }
            return ExitCode.ok
        } catch {
            io.err("vmoe-convert: error: \(error)")
            return ExitCode.failure
        }
    }
}
