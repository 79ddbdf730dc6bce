import Foundation
import VMoECore
import VMoEIR
import VMoEConvert
import VMoEPasses

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
    passes (default pipeline: fold, then the requested pruning, then the requested quantization):
      --passes LIST          run exactly these passes, in order (fold,prune,quantize; "none" for none)
      --print-after PASS     print the IR after PASS
      --calibration X.npy    float32 [N,C,H,W] calibration images (pruning statistics, quantization report)
      --prune-unused-experts remove experts chosen by no calibration image (needs --calibration)
      --min-expert-share P   ... or chosen in less than share P of a router's choices, 0 ≤ P < 1
      --keep-classes LIST    keep only these classes (indices or names, comma-separated, or a file);
                             experts of super-classes with no kept class are removed
      --quantize P           weights to fp16 | int8 (per channel) | int4 (groups of 32)
      --quantize-experts P   precision for expert weights (default: as --quantize; also "float")
      --keep-float REGEX     tensors matching stay float (default: head and routers)
      --int4-fallback int8   store int4 candidates whose input axis is not a multiple of 32 as int8
      --dump-ir              print the graph IR
      --json                 print the conversion report as JSON
      --quiet                no progress messages
      -h, --help             this help

    exit status: 0 converted, 1 bad input or I/O error (no output file is left), 2 bad command line
    """

    public static func main(_ argv: [String], io: Output = .standard) -> Int32 {
        let args: Arguments
        do {
            args = try Arguments(argv, flags: ["help", "dump-ir", "json", "quiet", "prune-unused-experts"],
                                 options: ["config", "golden-count", "golden-seed", "golden-input", "threads", "passes", "print-after",
                                           "calibration", "min-expert-share", "keep-classes", "quantize", "quantize-experts",
                                           "keep-float", "int4-fallback"])
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
            if let p = args.options["passes"] {
                options.passes = p == "none" ? [] : p.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            if let p = args.options["print-after"] { options.printAfter = Set(p.split(separator: ",").map(String.init)) }
            options.calibrationPath = args.options["calibration"]
            options.pruneUnusedExperts = args.flags.contains("prune-unused-experts")
            if let s = args.options["min-expert-share"] {
                guard let v = Double(s), v >= 0, v < 1 else { throw Arguments.UsageError("--min-expert-share must be a number in [0, 1), got '\(s)'") }
                options.minExpertShare = v
            }
            options.keepClasses = args.options["keep-classes"]
            func precision(_ flag: String, allowFloat: Bool) throws -> Precision? {
                guard let s = args.options[flag] else { return nil }
                guard let p = Precision(rawValue: s), allowFloat || p != .float else {
                    throw Arguments.UsageError("--\(flag) must be one of fp16, int8, int4\(allowFloat ? ", float" : ""), got '\(s)'")
                }
                return p
            }
            options.quantize = try precision("quantize", allowFloat: false)
            options.quantizeExperts = try precision("quantize-experts", allowFloat: true)
            options.keepFloat = args.options["keep-float"]
            if let f = args.options["int4-fallback"] {
                guard f == "int8" else { throw Arguments.UsageError("--int4-fallback takes 'int8', got '\(f)'") }
                options.int4FallbackToInt8 = true
            }
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
                                               progress: { if !quiet { io.err("vmoe-convert: \($0)") } }, dump: io.out)
            for w in report.warnings { io.err("vmoe-convert: warning: \(w)") }
            if args.flags.contains("json") { io.json(report) } else {
                for n in report.notes { io.out("import: \(n)") }
                for p in report.passes {
                    io.out("pass \(p.pass): nodes \(p.nodesBefore)→\(p.nodesAfter), parameters \(p.parametersBefore)→\(p.parametersAfter), weight bytes \(p.bytesBefore)→\(p.bytesAfter)")
                    for n in p.notes { io.out("  \(n)") }
                }
                io.out("converted \(report.input) → \(report.output): \(report.family), \(report.nodes) nodes, \(report.parameters) parameters, \(report.fileBytes) bytes in \(String(format: "%.2f", report.seconds)) s")
            }
            return ExitCode.ok
        } catch {
            io.err("vmoe-convert: error: \(error)")
            return ExitCode.failure
        }
    }
}
