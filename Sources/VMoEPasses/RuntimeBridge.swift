import VMoECore
import VMoEIR
import VMoERuntime

/// The passes measure their effect with the reference runtime itself.
enum VMoERuntimeBridge {
    static func run(_ g: Graph, _ images: Tensor, threads: Int, fetch: [String]) throws -> [String: Tensor] {
        guard let input = g.inputs.first else { throw PassError.option("graph has no input") }
        return try Executor(graph: g, threads: threads).run([input.name: images], fetch: fetch)
    }
}
