import Foundation

/// Reusable temporary memory for kernels. Large temporaries would otherwise be fresh mmaps (glibc maps
/// allocations over 128 KiB) whose pages fault and are zero-filled on every call.
enum Scratch {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free = [Int: [UnsafeMutablePointer<Float>]]()

    static func take(_ n: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        return free[n]?.popLast() ?? .allocate(capacity: max(n, 1))
    }

    static func give(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        lock.lock()
        free[n, default: []].append(p)
        lock.unlock()
    }
}
