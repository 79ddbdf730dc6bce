import VMoECore
import VMoEIR

/// Why a pass could not run; cases name the flag, class, tensor or expert at fault.
public enum PassError: Error, CustomStringConvertible, Equatable {
    case option(String)
    case calibration(String)
    case unsupported(tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .option(r): return r
        case let .calibration(r): return "calibration: \(r)"
        case let .unsupported(t, r): return "tensor '\(t)': \(r)"
        }
    }
}

/// What passes may read and change besides the graph.
public struct PassContext {
    public var config: ModelConfig
    /// Golden images: fold measures the change it causes on these.
    public var golden: Tensor
    /// Optional calibration images (float32 [N,C,H,W]).
    public var calibration: Tensor?
    public var threads: Int

    public init(config: ModelConfig, golden: Tensor, calibration: Tensor?, threads: Int) {
        self.config = config
        self.golden = golden
        self.calibration = calibration
        self.threads = threads
    }
}

/// What one pass changed, for the console summary, `--json`, and the file's provenance.
public struct PassReport: Codable {
    public var pass: String
    public var nodesBefore: Int
    public var nodesAfter: Int
    public var parametersBefore: Int
    public var parametersAfter: Int
    public var bytesBefore: Int
    public var bytesAfter: Int
    public var notes: [String]
    public var details: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case pass, nodesBefore = "nodes_before", nodesAfter = "nodes_after", parametersBefore = "parameters_before"
        case parametersAfter = "parameters_after", bytesBefore = "bytes_before", bytesAfter = "bytes_after", notes, details
    }

    /// One line: nodes, parameters and bytes before → after, and the notes.
    public var summary: String {
        "nodes \(nodesBefore)→\(nodesAfter), parameters \(parametersBefore)→\(parametersAfter), weight bytes \(bytesBefore)→\(bytesAfter)"
            + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; "))
    }
}

/// A graph-to-graph transformation. It returns notes (one line each) and structured details.
public protocol Pass {
    var name: String { get }
    func run(_ graph: inout Graph, _ ctx: inout PassContext) throws -> (notes: [String], details: [String: JSONValue])
}

/// Runs passes in order; the verifier checks the graph after each one (tract's consistency check).
public enum PassPipeline {
    public static func run(_ passes: [Pass], graph: inout Graph, context: inout PassContext,
                           printAfter: Set<String> = [], dump: (String, Graph) -> Void = { _, _ in }) throws -> [PassReport] {
        var reports = [PassReport]()
        for p in passes {
            let before = (graph.nodes.count, graph.parameterCount, graph.constantBytes)
            let (notes, details) = try p.run(&graph, &context)
            do { try graph.verify() } catch {
                throw PassError.option("internal error: pass '\(p.name)' left an invalid graph: \(error)")
            }
            reports.append(PassReport(pass: p.name, nodesBefore: before.0, nodesAfter: graph.nodes.count,
                                      parametersBefore: before.1, parametersAfter: graph.parameterCount,
                                      bytesBefore: before.2, bytesAfter: graph.constantBytes, notes: notes, details: details))
            if printAfter.contains(p.name) { dump(p.name, graph) }
        }
        return reports
    }
}
