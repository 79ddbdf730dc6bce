import VMoECore
import VMoEIR

/// Runs a graph on images, returning its outputs and the requested intermediate values.
enum Evaluate {
    static func run(_ g: Graph, _ images: Tensor, threads: Int, fetch: [String] = []) throws -> [String: Tensor] {
        try VMoERuntimeBridge.run(g, images, threads: threads, fetch: fetch)
    }

    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.floatValues(), b.floatValues()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
