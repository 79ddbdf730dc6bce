import Foundation
import Synchronization

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
        WorkerPool.shared(threads).run(parts: t) { w in
            let lo = count * w / t, hi = count * (w + 1) / t
            for i in lo..<hi { body(i) }
        }
    }
}

/// Threads kept alive between kernel calls: waking threads per call (as concurrentPerform does) costs
/// a batch-1 GEMM a good part of its time. Workers spin briefly on a generation counter, then sleep.
final class WorkerPool: @unchecked Sendable {
    private static let poolsLock = NSLock()
    nonisolated(unsafe) private static var pools = [Int: WorkerPool]()

    static func shared(_ threads: Int) -> WorkerPool {
        poolsLock.lock()
        defer { poolsLock.unlock() }
        if let p = pools[threads] { return p }
        let p = WorkerPool(workers: threads - 1)
        pools[threads] = p
        return p
    }

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = NSCondition()
    private var job: (@Sendable (Int) -> Void)?
    private var parts = 0
    private let runLock = NSLock()
    private let workers: Int

    private init(workers: Int) {
        self.workers = workers
        for w in 0..<workers {
            let t = Thread { [unowned self] in self.loop(worker: w + 1) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs body(0..<parts): part 0 on the caller, the others on workers 1..<parts.
    func run(parts: Int, _ body: @escaping @Sendable (Int) -> Void) {
        runLock.lock()
        defer { runLock.unlock() }
        job = body
        self.parts = parts
        // Every worker acknowledges every run, even one with no part for it: otherwise a late worker
        // could read the next run's job and parts.
        pending.store(workers, ordering: .releasing)
        sleepers.lock()
        generation.add(1, ordering: .releasing)
        sleepers.broadcast()
        sleepers.unlock()
        body(0)
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > 1000 { sched_yield() }
        }
        job = nil
    }

    private func loop(worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > 20_000 {
                    sleepers.lock()
                    while generation.load(ordering: .acquiring) == seen { sleepers.wait() }
                    sleepers.unlock()
                }
            }
            seen = generation.load(ordering: .acquiring)
            if worker < parts, let body = job { body(worker) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
