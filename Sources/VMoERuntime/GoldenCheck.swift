import VMoECore
import VMoEFormat

/// Recomputes a file's golden outputs and compares them bit for bit.
public enum GoldenCheck {
    public struct OutputResult: Codable, Sendable {
        public var output: String
        public var shape: [Int]
        public var identical: Bool
        /// Index of the first element whose bits differ, and the values there.
        public var firstMismatch: Int?
        public var expected: Float?
        public var actual: Float?
        public var maxAbsDiff: Float

        enum CodingKeys: String, CodingKey {
            case output, shape, identical, firstMismatch = "first_mismatch", expected, actual, maxAbsDiff = "max_abs_diff"
        }
    }

    public static func run(_ model: VMoEModel, threads: Int) throws -> [OutputResult] {
        try runWithCoverage(model, threads: threads).outputs
    }

    /// Also returns, per router, the experts (ids, not slots) the golden images are routed to.
    public static func runWithCoverage(_ model: VMoEModel, threads: Int) throws -> (outputs: [OutputResult], experts: [String: [Int]]) {
        let exec = try Executor(graph: model.graph, threads: threads)
        let routes = model.graph.nodes.compactMap { n -> (String, String, [Int]?)? in
            if case let .route(spec) = n.op { return (n.name, n.outputs[0], spec.allowed) } else { return nil }
        }
        let outs = try exec.run(model.goldenInputs, fetch: routes.map(\.1))
        var experts = [String: [Int]]()
        for (name, value, allowed) in routes {
            let slots = Set(outs[value]?.floatValues().map { Int($0) } ?? [])
            experts[name] = slots.map { allowed?[$0] ?? $0 }.sorted()
        }
        var results = [OutputResult]()
        for name in model.graph.outputs {
            guard let want = model.goldenOutputs[name], let got = outs[name] else {
                throw RuntimeError.golden(reason: "no golden vector for output '\(name)'")
            }
            let a = want.floatValues(), b = got.floatValues()
            var first: Int?
            var maxDiff: Float = 0
            if want.shape != got.shape || a.count != b.count {
                results.append(OutputResult(output: name, shape: want.shape, identical: false, firstMismatch: 0, expected: nil, actual: nil, maxAbsDiff: .infinity))
                continue
            }
            for i in 0..<a.count where a[i].bitPattern != b[i].bitPattern {
                if first == nil { first = i }
                maxDiff = max(maxDiff, abs(a[i] - b[i]))
            }
            results.append(OutputResult(output: name, shape: want.shape, identical: first == nil, firstMismatch: first,
                                        expected: first.map { a[$0] }, actual: first.map { b[$0] }, maxAbsDiff: maxDiff))
        }
        return (results, experts)
    }
}
