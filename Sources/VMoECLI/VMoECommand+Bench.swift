import Foundation
import VMoECore
import VMoEFormat
import VMoERuntime
#if canImport(Glibc)
import Glibc
#endif

extension VMoECommand {
    /// `vmoe bench MODEL [--batch B] [--iterations N] [--threads T]`: load time, throughput, peak RSS.
    /// Inputs are the seeded golden-image generator's, so runs are repeatable.
    static func bench(_ path: String, _ args: Arguments, _ io: Output) throws -> Int32 {
        let threads = try threadCount(args)
        let batch = try args.int("batch", default: 8, range: 1...4096)
        let iterations = try args.int("iterations", default: 10, range: 1...100_000)
        let t0 = Date()
        let file = try VMoEFile.open(path: path)
        let exec = try Executor(graph: file.model.graph, threads: threads)
        let load = Date().timeIntervalSince(t0)
        guard let input = file.model.graph.inputs.first else { return ExitCode.failure }
        let s = input.type.resolved(batch: batch)
        var seed: UInt64 = 1
        let x = Tensor(floats: (0..<s.reduce(1, *)).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(seed >> 40) - (1 << 23)) / Float(1 << 23)
        }, shape: s)
        _ = try exec.run([input.name: x])  // warm-up
        var times = [Double]()
        for _ in 0..<iterations {
            let t = Date()
            _ = try exec.run([input.name: x])
            times.append(Date().timeIntervalSince(t))
        }
        times.sort()
        let median = times[times.count / 2]
        // VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a parent's peak would leak in.
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let hwmKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        struct Report: Encodable {
            var model: String; var batch: Int; var threads: Int; var iterations: Int
            var load_seconds: Double; var median_batch_seconds: Double; var min_batch_seconds: Double
            var images_per_second: Double; var peak_rss_mib: Double
        }
        let r = Report(model: path, batch: batch, threads: threads, iterations: iterations, load_seconds: load,
                       median_batch_seconds: median, min_batch_seconds: times[0], images_per_second: Double(batch) / median,
                       peak_rss_mib: hwmKiB / 1024)
        if args.flags.contains("json") { io.json(r) } else {
            io.out(String(format: "%@: batch %d, %d thread(s): %.2f ms/batch (median of %d), %.1f images/s, load %.1f ms, peak RSS %.1f MiB",
                          path, batch, threads, median * 1000, iterations, r.images_per_second, load * 1000, r.peak_rss_mib))
        }
        return ExitCode.ok
    }
}
