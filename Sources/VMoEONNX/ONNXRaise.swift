import VMoECore
import VMoEIR

/// Rewrites generic-op patterns into the IR's model-level ops.
struct ONNXRaise {
    var graph: Graph
    var raised = [String]()
    var warnings = [String]()

    mutating func run() throws {}
}
