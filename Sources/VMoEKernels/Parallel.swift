import Dispatch

/// Splits work over a fixed number of threads. Work items are assigned statically and every output
/// element is computed by exactly one item, so the thread count never changes a result's bits.
public struct Parallel: Sendable {
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    /// Runs `body(i)` for i in 0..<count, split into contiguous ranges per thread.
    public func forEach(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let t = min(threads, count)
        if t == 1 {
            for i in 0..<count { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: t) { w in
            let lo = count * w / t, hi = count * (w + 1) / t
            for i in lo..<hi { body(i) }
        }
    }
}
