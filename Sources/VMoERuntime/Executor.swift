import VMoECore
import VMoEIR
import VMoEKernels
import Foundation
import Dispatch

/// Activation memory recycled across runs: fresh multi-megabyte allocations would page-fault (and be
/// zero-filled by the kernel) on every run.
final class BufferPool: @unchecked Sendable {
    private var free = [Int: [UnsafeMutablePointer<Float>]]()
    private let lock = NSLock()

    func take(_ n: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        return free[n]?.popLast() ?? .allocate(capacity: n)
    }

    func give(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        lock.lock()
        free[n, default: []].append(p)
        lock.unlock()
    }

    deinit { for list in free.values { for p in list { p.deallocate() } } }
}

/// A float32 activation, zero-filled; route's expert ids are held as exact small floats.
final class Buffer {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    let shape: [Int]
    private let pool: BufferPool?

    init(_ shape: [Int], pool: BufferPool? = nil) {
        self.shape = shape
        count = shape.reduce(1, *)
        self.pool = pool
        p = pool?.take(max(count, 1)) ?? .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        if let pool { pool.give(p, max(count, 1)) } else { p.deallocate() }
    }
}

/// Executes a graph with the reference kernels; outputs are bit-identical for any thread count.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    public let pool: Parallel
    /// f32 views of constants and dequantized values. Entries read only as packed panels (linear and
    /// expert weights) may refer to those panels once packed; their consumers use only the shape.
    private var weights: [String: (p: UnsafePointer<Float>, owner: ByteStorage)] = [:]
    /// Shapes of weights computed at load (dequantized), which are values rather than constants.
    private var weightShapes: [String: [Int]] = [:]
    /// Linear and expert weights repacked into 16-column panels (see Kernels.pack), by weight name.
    var packed: [String: ByteStorage] = [:]
    let buffers = BufferPool()
    func buffer(_ shape: [Int]) -> Buffer { Buffer(shape, pool: buffers) }
    /// Index of the last node reading each value, so activations are freed as soon as possible.
    private var lastUse: [String: Int] = [:]

    public init(graph: Graph, threads: Int) throws {
        try graph.verify()
        self.graph = graph
        pool = Parallel(threads: threads)
        for (name, t) in graph.constants {
            if t.dtype == .float32 {
                weights[name] = (t.storage.pointer.assumingMemoryBound(to: Float.self), t.storage)
            } else {
                // f16 → f32 is exact, f64 → f32 rounds to nearest even: both fixed by IEEE 754.
                let values = t.floatValues()
                let s = values.withUnsafeBytes { ByteStorage(copying: $0) }
                weights[name] = (s.pointer.assumingMemoryBound(to: Float.self), s)
            }
        }
        // Dequantize nodes read only constants: evaluate them once, here, like weights.
        for n in graph.nodes {
            guard case let .dequantize(scheme) = n.op, let q = graph.constants[n.inputs[0]], let sc = graph.constants[n.inputs[1]] else { continue }
            let k = q.shape[q.shape.count - 2], cols = q.shape[q.shape.count - 1], lead = q.shape.count == 3 ? q.shape[0] : 1
            let s = ByteStorage(count: lead * k * cols * 4) { out in
                let o = out.bindMemory(to: Float.self).baseAddress!
                switch scheme {
                case .int8PerChannel:
                    Kernels.dequantizeInt8(q: q.storage.pointer, scale: sc.storage.pointer, lead: lead, k: k, n: cols, out: o)
                case let .int4Grouped(g):
                    Kernels.dequantizeInt4(q: q.storage.pointer, scale: sc.storage.pointer, lead: lead, k: k, n: cols, group: g, out: o)
                }
            }
            weights[n.outputs[0]] = (s.pointer.assumingMemoryBound(to: Float.self), s)
            weightShapes[n.outputs[0]] = q.shape
        }
        // Weight inputs are read from the weight table (packed at load): they must be constants or
        // dequantized constants, which a crafted file could violate while staying well typed.
        for n in graph.nodes {
            let weightInputs: [Int]
            switch n.op {
            case .patchEmbed, .layerNorm, .route: weightInputs = [1, 2]
            case .linear: weightInputs = Array(1..<n.inputs.count)
            case .prependClassToken: weightInputs = [1]
            case .moeMLP: weightInputs = [3, 4, 5, 6]
            default: weightInputs = []
            }
            for j in weightInputs where weights[n.inputs[j]] == nil {
                throw RuntimeError.golden(reason: "node '\(n.name)': weight input '\(n.inputs[j])' must be a constant (or a dequantized constant)")
            }
        }
        for (i, n) in graph.nodes.enumerated() {
            for v in n.inputs { lastUse[v] = i }
            if case .patchEmbed = n.op, let src = weights[n.inputs[1]]?.p, let ws = graph.type(of: n.inputs[1])?.resolved(batch: 1) {
                // [D, C·p·p] → [C·p·p, D], packed: the patch projection is then an ordinary linear.
                let d = ws[0], k = ws[1] * ws[2] * ws[3]
                let wT = UnsafeMutablePointer<Float>.allocate(capacity: k * d)
                defer { wT.deallocate() }
                for r in 0..<d { for c in 0..<k { wT[c * d + r] = src[r * k + c] } }
                packed[Executor.patchKey(n)] = ByteStorage(count: Kernels.packedCount(k: k, n: d) * 4) { out in
                    Kernels.pack(wT, k: k, n: d, into: out.bindMemory(to: Float.self).baseAddress!)
                }
            }
        }
        for o in graph.outputs { lastUse[o] = graph.nodes.count }
        // Values read only as packed panels: the unpacked copy of a widened or dequantized one can go.
        var packedOnly = Set<String>()
        for n in graph.nodes {
            switch n.op {
            case .linear: packedOnly.insert(n.inputs[1])
            case .moeMLP: packedOnly.formUnion([n.inputs[3], n.inputs[5]])
            default: break
            }
        }
        for n in graph.nodes {
            for (j, v) in n.inputs.enumerated() where packedOnly.contains(v) {
                switch n.op {
                case .linear where j == 1: continue
                case .moeMLP where j == 3 || j == 5: continue
                default: packedOnly.remove(v)
                }
            }
        }
        packedOnly.subtract(graph.outputs)
        // Pack every weight a linear or an expert MLP reads, once.
        for n in graph.nodes {
            let targets: [String]
            switch n.op {
            case .linear: targets = [n.inputs[1]]
            case .moeMLP: targets = [n.inputs[3], n.inputs[5]]
            default: continue
            }
            for t in targets where packed[t] == nil {
                guard let w = weights[t], let shape = graph.type(of: t)?.resolved(batch: 1) else { continue }
                let lead = shape.count == 3 ? shape[0] : 1, k = shape[shape.count - 2], cols = shape[shape.count - 1]
                let per = Kernels.packedCount(k: k, n: cols)
                let panels = ByteStorage(count: lead * per * 4) { out in
                    let o = out.bindMemory(to: Float.self).baseAddress!
                    for e in 0..<lead { Kernels.pack(w.p + e * k * cols, k: k, n: cols, into: o + e * per) }
                }
                packed[t] = panels
                // A widened (f16/f64) or dequantized copy is owned here and no longer needed: the entry
                // then refers to the panels, of which consumers read only the shape.
                let ownedCopy = graph.constants[t].map { $0.dtype != .float32 } ?? true
                if packedOnly.contains(t), ownedCopy {
                    weights[t] = (panels.pointer.assumingMemoryBound(to: Float.self), panels)
                }
            }
        }
    }

    static func patchKey(_ n: Node) -> String { "\(n.name)#patch" }

    /// The packed panels of weight `name`, for expert `e` of a stacked weight.
    func packedWeight(_ name: String, expert e: Int = 0, k: Int, n: Int) -> UnsafePointer<Float> {
        packed[name]!.pointer.assumingMemoryBound(to: Float.self) + e * Kernels.packedCount(k: k, n: n)
    }

    /// `VMOE_PROFILE=1`: time per op kind, printed to stderr when the process exits.
    static let profiling: Bool = ProcessInfo.processInfo.environment["VMOE_PROFILE"] == "1"
    nonisolated(unsafe) static var profile = [String: UInt64]()
    static let profileLock = NSLock()
    static func record(_ kind: String, _ ns: UInt64) {
        profileLock.lock()
        if profile.isEmpty { atexit { Executor.printProfile() } }
        profile[kind, default: 0] += ns
        profileLock.unlock()
    }
    static func printProfile() {
        let total = profile.values.reduce(0, +)
        for (k, v) in profile.sorted(by: { $0.value > $1.value }) {
            FileHandle.standardError.write(Data(String(format: "profile %-20@ %9.1f ms %5.1f%%\n", k, Double(v) / 1e6, 100 * Double(v) / Double(max(total, 1))).utf8))
        }
    }

    /// Runs the graph on `inputs` (by graph input name); any batch size ≥ 1. Returns the graph outputs
    /// plus any intermediate values named in `fetch` (route experts come back as f32 slot numbers).
    public func run(_ inputs: [String: Tensor], fetch: [String] = []) throws -> [String: Tensor] {
        var keep = Set(graph.outputs)
        for f in fetch {
            guard graph.valueTypes[f] != nil else { throw RuntimeError.missingInput(name: f) }
            keep.insert(f)
        }
        var acts = [String: Buffer]()
        var batch = 0
        for (name, type) in graph.inputs {
            guard let t = inputs[name] else { throw RuntimeError.missingInput(name: name) }
            let b = t.shape.first ?? 0
            guard t.dtype == .float32, b >= 1, t.shape == type.resolved(batch: b) else {
                throw RuntimeError.inputType(name: name, expected: type.description + " with B ≥ 1", actual: "\(t.dtype.name)\(t.shape)")
            }
            batch = b
            let buf = buffer(t.shape)
            buf.p.update(from: t.storage.pointer.assumingMemoryBound(to: Float.self), count: buf.count)
            acts[name] = buf
        }
        let profiling = Executor.profiling
        for (i, node) in graph.nodes.enumerated() {
            if case .dequantize = node.op { continue }  // done at load
            let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            let outs = try execute(node, acts: acts, batch: batch)
            if profiling { Executor.record(node.op.kind, DispatchTime.now().uptimeNanoseconds - t0) }
            for (n, b) in zip(node.outputs, outs) { acts[n] = b }
            for v in node.inputs where lastUse[v] == i && !keep.contains(v) { acts[v] = nil }
        }
        var result = [String: Tensor]()
        for o in keep {
            guard let b = acts[o] else { continue }
            result[o] = Tensor(floats: Array(UnsafeBufferPointer(start: b.p, count: b.count)), shape: b.shape)
        }
        return result
    }

    private func input(_ name: String, _ acts: [String: Buffer]) -> (p: UnsafePointer<Float>, count: Int, shape: [Int]) {
        if let b = acts[name] { return (UnsafePointer(b.p), b.count, b.shape) }
        let w = weights[name]!
        let shape = graph.constants[name]?.shape ?? weightShapes[name]!
        return (w.p, shape.reduce(1, *), shape)
    }

    private func execute(_ node: Node, acts: [String: Buffer], batch: Int) throws -> [Buffer] {
        let ins = node.inputs.map { input($0, acts) }
        let outType = node.outputs.map { graph.valueTypes[$0]!.resolved(batch: batch) }
        switch node.op {
        case let .patchEmbed(p):
            let s = ins[0].shape
            let c = s[1], h = s[2], w = s[3], gw = w / p, n = (h / p) * gw, k = c * p * p
            let out = buffer(outType[0]), d = outType[0][2]
            let cols = buffer([batch * n, k])
            let img = ins[0].p
            for b in 0..<batch {
                for t in 0..<n {
                    let py = (t / gw) * p, px = (t % gw) * p
                    var j = (b * n + t) * k
                    for ch in 0..<c {
                        for ky in 0..<p {
                            let row = img + ((b * c + ch) * h + py + ky) * w + px
                            for kx in 0..<p { cols.p[j] = row[kx]; j += 1 }
                        }
                    }
                }
            }
            Kernels.linearPacked(x: cols.p, m: batch * n, k: k, w: packedWeight(Executor.patchKey(node), k: k, n: d), n: d,
                                 bias: ins[2].p, out: out.p, pool: pool)
            return [out]
        case .prependClassToken:
            let out = buffer(outType[0])
            let n = ins[0].shape[1], d = ins[0].shape[2]
            for b in 0..<batch {
                (out.p + b * (n + 1) * d).update(from: ins[1].p, count: d)
                (out.p + b * (n + 1) * d + d).update(from: ins[0].p + b * n * d, count: n * d)
            }
            return [out]
        case .add:
            let out = buffer(outType[0])
            let a = ins[0].p, bp = ins[1].p, bc = ins[1].count
            if bc == out.count { for i in 0..<out.count { out.p[i] = a[i] + bp[i] } }
            else { for i in 0..<out.count { out.p[i] = a[i] + bp[i % bc] } }
            return [out]
        case let .layerNorm(eps):
            let out = buffer(outType[0]), d = ins[0].shape.last!
            Kernels.layerNorm(x: ins[0].p, rows: out.count / d, d: d, gamma: ins[1].p, beta: ins[2].p, eps: eps, out: out.p, pool: pool)
            return [out]
        case .linear:
            let out = buffer(outType[0])
            let k = ins[0].shape.last!, n = outType[0].last!
            Kernels.linearPacked(x: ins[0].p, m: ins[0].count / k, k: k, w: packedWeight(node.inputs[1], k: k, n: n), n: n,
                                 bias: ins.count > 2 ? ins[2].p : nil, out: out.p, pool: pool)
            return [out]
        case .gelu:
            let out = buffer(outType[0])
            out.p.update(from: ins[0].p, count: out.count)
            Kernels.gelu(out.p, count: out.count, pool: pool)
            return [out]
        case let .attention(heads, scale):
            let out = buffer(outType[0])
            Kernels.attention(qkv: ins[0].p, batch: batch, tokens: ins[0].shape[1], dim: outType[0][2], heads: heads, scale: scale, out: out.p, pool: pool)
            return [out]
        case let .route(spec):
            return route(spec, x: ins[0], w: ins[1].p, bias: ins[2].p, experts: ins[1].shape[1], batch: batch, outTypes: outType)
        case .moeMLP:
            return [moe(node, h: ins[0], experts: ins[1].p, gates: ins[2].p, k: ins[1].shape[1], fc1: ins[3], fc1b: ins[4].p,
                        fc2: ins[5], fc2b: ins[6].p, batch: batch, outType: outType[0])]
        case let .selectToken(index):
            let out = buffer(outType[0])
            let t = ins[0].shape[1], d = ins[0].shape[2]
            for b in 0..<batch { (out.p + b * d).update(from: ins[0].p + (b * t + index) * d, count: d) }
            return [out]
        case .dequantize:
            return []  // evaluated at load
        case let .generic(g):
            return try generic(g, ins, outType, node: node.name)
        }
    }
}
