/// An immutable, 64-byte-aligned run of bytes: either owned, or a view kept alive by its owner (an mmap).
public final class ByteStorage: @unchecked Sendable {
    public let pointer: UnsafeRawPointer
    public let count: Int
    private let owner: AnyObject?
    private let owned: Bool

    public static let alignment = 64

    /// Copies `bytes` into a new aligned allocation.
    public init(copying bytes: UnsafeRawBufferPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: ByteStorage.alignment)
        if let base = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: base, byteCount: bytes.count) }
        pointer = UnsafeRawPointer(p)
        count = bytes.count
        owner = nil
        owned = true
    }

    /// Allocates `count` bytes and lets `fill` write them.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: ByteStorage.alignment)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        do { try fill(UnsafeMutableRawBufferPointer(start: p, count: count)) } catch {
            p.deallocate()
            throw error
        }
        pointer = UnsafeRawPointer(p)
        self.count = count
        owner = nil
        owned = true
    }

    /// A view into memory that `owner` keeps valid for as long as this storage lives.
    public init(viewing pointer: UnsafeRawPointer, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
        owned = false
    }

    deinit { if owned { UnsafeMutableRawPointer(mutating: pointer).deallocate() } }

    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}
