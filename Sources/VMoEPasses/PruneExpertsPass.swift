import VMoECore
import VMoEIR

/// prune: removes experts a deployment never uses, and (with `keepClasses`) the head columns of classes
/// it does not need.
///
/// - `minShare`: with calibration images, experts chosen in less than this share of an MoE router's
///   choices are removed (0 = only experts never chosen).
/// - `keepClasses`: the head is sliced to these classes, in this order; experts whose super-class holds
///   no kept class are removed, unless a calibration image of a kept class (its top-1 class on the
///   unpruned model) was routed there — then the expert stays and the report says so.
///
/// The router keeps its softmax over all original experts and only chooses among survivors, so every
/// image whose chosen experts all survive gets bit-identical outputs (on the kept columns).
public struct PruneExpertsPass: Pass {
    public let name = "prune"
    public var minShare: Double?
    public var keepClasses: [Int]?

    public init(minShare: Double?, keepClasses: [Int]?) {
        self.minShare = minShare
        self.keepClasses = keepClasses
    }

    struct Router {
        var node: Int
        var spec: RouteSpec
        var experts: Int
        var moe: [Int]
    }

    public func run(_ g: inout Graph, _ ctx: inout PassContext) throws -> (notes: [String], details: [String: JSONValue]) {
        if let s = minShare, !(s >= 0 && s < 1) { throw PassError.option("--min-expert-share must be in [0, 1), got \(s)") }
        if minShare != nil, ctx.calibration == nil { throw PassError.option("--prune-unused-experts needs --calibration CALIB.npy") }
        if let kc = keepClasses {
            guard !kc.isEmpty else { throw PassError.option("--keep-classes: the set of classes is empty") }
            guard Set(kc).count == kc.count else { throw PassError.option("--keep-classes: a class is listed twice") }
            if let bad = kc.first(where: { $0 < 0 || $0 >= ctx.config.numClasses }) {
                throw PassError.option("--keep-classes: class \(bad) does not exist (the model has \(ctx.config.numClasses) classes)")
            }
        }
        var routers = [Router]()
        for (i, n) in g.nodes.enumerated() {
            guard case let .route(spec) = n.op else { continue }
            let e = g.type(of: n.inputs[1])?.resolved(batch: 1).last ?? 0
            let moe = g.nodes.indices.filter { if case .moeMLP = g.nodes[$0].op { return g.nodes[$0].inputs[1] == n.outputs[0] } else { return false } }
            routers.append(Router(node: i, spec: spec, experts: e, moe: moe))
        }
        var notes = [String]()
        var details = [String: JSONValue]()

        // Calibration: which experts each router picks, and each image's top-1 class, on the unpruned graph.
        var picks = [[[Int]]]()   // router → image → original expert ids
        var imageClass = [Int]()
        if let calib = ctx.calibration {
            let outs = try Evaluate.run(g, calib, threads: ctx.threads, fetch: routers.map { g.nodes[$0.node].outputs[0] })
            for r in routers {
                let slots = outs[g.nodes[r.node].outputs[0]]!.floatValues().map { Int($0) }
                let allowed = r.spec.allowed ?? Array(0..<r.experts)
                picks.append(stride(from: 0, to: slots.count, by: r.spec.topK).map { b in (0..<r.spec.topK).map { allowed[slots[b + $0]] } })
            }
            let logits = outs[g.outputs[0]]!
            let c = logits.shape[1], v = logits.floatValues()
            imageClass = (0..<logits.shape[0]).map { b in (0..<c).max { v[b * c + $0] < v[b * c + $1] || (v[b * c + $0] == v[b * c + $1] && $0 > $1) }! }
        }

        var usage = [JSONValue]()
        var removedTotal = 0
        for (ri, r) in routers.enumerated() {
            let allowed = r.spec.allowed ?? Array(0..<r.experts)
            var counts = [Int](repeating: 0, count: r.experts)
            if !picks.isEmpty { for img in picks[ri] { for e in img { counts[e] += 1 } } }
            let choices = max(1, (picks.isEmpty ? 0 : picks[ri].count) * r.spec.topK)
            var remove = Set<Int>()
            if let p = minShare {
                for e in allowed where Double(counts[e]) / Double(choices) < p || (p == 0 && counts[e] == 0) { remove.insert(e) }
            }
            var keptForClasses = [Int]()
            if let kc = keepClasses {
                guard let map = ctx.config.superclassOfClass else {
                    throw PassError.option("--keep-classes needs the model's superclass_of_class map to choose experts (or prune with calibration only)")
                }
                let needed = Set(kc.map { map[$0] })
                for e in allowed where !needed.contains(e) {
                    let routedKept = picks.isEmpty ? false : picks[ri].indices.contains { kc.contains(imageClass[$0]) && picks[ri][$0].contains(e) }
                    if routedKept { keptForClasses.append(e); remove.remove(e) } else { remove.insert(e) }
                }
            }
            let survivors = allowed.filter { !remove.contains($0) }
            guard survivors.count >= r.spec.topK else {
                throw PassError.option("pruning would leave \(survivors.count) expert(s) for '\(g.nodes[r.node].name)', which chooses \(r.spec.topK); lower --min-expert-share or keep more classes")
            }
            let affected = picks.isEmpty ? 0 : picks[ri].filter { $0.contains(where: remove.contains) }.count
            let name = g.nodes[r.node].name
            let blocks = r.moe.map { g.nodes[$0].name }
            usage.append(.object([
                "router": .string(name), "moe_blocks": .array(blocks.map(JSONValue.string)),
                "counts": .array(counts.map { .number(Double($0)) }),
                "shares": .array(counts.map { .number(Double($0) / Double(choices)) }),
                "removed": .array(remove.sorted().map { .number(Double($0)) }),
                "kept_for_kept_classes": .array(keptForClasses.map { .number(Double($0)) }),
                "affected_calibration_images": .number(Double(affected)),
            ]))
            let usageText = allowed.map { "\($0):\(counts[$0])" }.joined(separator: " ")
            notes.append("\(name) (feeds \(blocks.joined(separator: ", "))): usage \(usageText) over \(picks.isEmpty ? 0 : picks[ri].count) calibration image(s); removed \(remove.sorted()); \(affected) calibration image(s) lose an expert and fall back to the next surviving one")
            if !keptForClasses.isEmpty {
                notes.append("\(name): experts \(keptForClasses) kept although their super-class holds no kept class: calibration images of kept classes were routed there")
            }
            guard !remove.isEmpty else { continue }
            removedTotal += remove.count * blocks.count
            // Slice expert weights to the surviving slots, and restrict the router to them.
            let keepSlots = allowed.indices.filter { !remove.contains(allowed[$0]) }
            for mi in r.moe {
                for pos in 3...6 {
                    let cname = g.nodes[mi].inputs[pos]
                    guard let t = g.constants[cname] else {
                        throw PassError.unsupported(tensor: cname, reason: "expert weights must be constants to prune (run prune before quantize)")
                    }
                    guard g.uses(of: cname).count == 1 else { throw PassError.unsupported(tensor: cname, reason: "shared by several nodes") }
                    g.constants[cname] = slice(t, axis0: keepSlots)
                }
            }
            var spec = r.spec
            spec.allowed = survivors
            g.nodes[r.node].op = .route(spec)
        }
        if let kc = keepClasses { try sliceHead(&g, &ctx, kc); notes.append("head sliced to \(kc.count) class(es): \(kc)") }
        try g.reinferTypes()
        details["routers"] = .array(usage)
        details["experts_removed"] = .number(Double(removedTotal))
        return (notes, details)
    }

    /// Rows of axis 0 in `keep` order.
    func slice(_ t: Tensor, axis0 keep: [Int]) -> Tensor {
        let row = t.byteCount / max(t.shape[0], 1)
        let s = ByteStorage(count: row * keep.count) { out in
            for (i, k) in keep.enumerated() { (out.baseAddress! + i * row).copyMemory(from: t.storage.pointer + k * row, byteCount: row) }
        }
        return Tensor(dtype: t.dtype, shape: [keep.count] + t.shape.dropFirst(), storage: s)
    }

    /// Slices the linear producing the graph output to the kept classes (columns) and updates the config.
    func sliceHead(_ g: inout Graph, _ ctx: inout PassContext, _ kc: [Int]) throws {
        guard let hi = g.producer(of: g.outputs[0]), case .linear = g.nodes[hi].op, g.nodes[hi].inputs.count == 3,
              let w = g.constants[g.nodes[hi].inputs[1]], let b = g.constants[g.nodes[hi].inputs[2]] else {
            throw PassError.option("--keep-classes: the output is not produced by a linear head with constant weights")
        }
        let k = w.shape[0], n = w.shape[1]
        let wv = w.floatValues(), bv = b.floatValues()
        var nw = [Float](), nb = [Float]()
        for r in 0..<k { for c in kc { nw.append(wv[r * n + c]) } }
        for c in kc { nb.append(bv[c]) }
        // Kept columns keep their exact values (and dtype where it is f32).
        g.constants[g.nodes[hi].inputs[1]] = Tensor(converting: nw, shape: [k, kc.count], to: w.dtype)
        g.constants[g.nodes[hi].inputs[2]] = Tensor(converting: nb, shape: [kc.count], to: b.dtype)
        ctx.config.numClasses = kc.count
        ctx.config.classNames = ctx.config.classNames.map { names in kc.map { names[$0] } }
        ctx.config.superclassOfClass = ctx.config.superclassOfClass.map { m in kc.map { m[$0] } }
    }
}
