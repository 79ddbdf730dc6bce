import VMoECore
import VMoEIR
import VMoERuntime

/// Runs a graph on images with the reference runtime (the passes measure their effect with it),
/// returning its outputs and the requested intermediate values.
enum Evaluate {
    static func run(_ g: Graph, _ images: Tensor, threads: Int, fetch: [String] = []) throws -> [String: Tensor] {
        guard let input = g.inputs.first else { throw PassError.option("graph has no input") }
        return try Executor(graph: g, threads: threads).run([input.name: images], fetch: fetch)
    }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.floatValues(), b.floatValues()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
