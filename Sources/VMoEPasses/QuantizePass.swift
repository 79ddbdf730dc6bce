import Foundation
import VMoECore
import VMoEIR

/// Storage precision of a weight.
public enum Precision: String, Codable, CaseIterable, Sendable {
    case float, fp16, int8, int4
}

/// quantize: weight-only quantization of linear and expert weights.
///
/// fp16 stores IEEE half (the runtime widens exactly). int8 is symmetric per output channel
/// (scale = max|w|/127 rounded to f16, as GGUF's Q8_0). int4 is symmetric in groups of 32 along the
/// input axis (scale = max|w|/7 rounded to f16). The biases of quantized layers are stored fp16: their
/// rounding (≤ 2^-11 relative) is far below the weights' and it keeps small experts weight-dominated. Quantized weights feed a `dequantize` node the runtime evaluates once at
/// load (w = q × scale, one rounding), so every runtime gets the same f32 weights.
public struct QuantizePass: Pass {
    public let name = "quantize"
    public var weights: Precision
    public var experts: Precision
    /// Tensors whose names match stay float.
    public var keepFloat: NSRegularExpression
    /// If int4 is asked for a tensor whose input axis is not a multiple of 32: use int8 (true) or fail.
    public var int4FallbackToInt8: Bool

    public static let group = 32
    /// Patch embedding, position embedding, norms and biases are never candidates (not linear
    /// weights); the head and routers stay float by this default.
    public static let defaultKeepFloat = #"(^head\.|(^|\.)router\.)"#

    public init(weights: Precision, experts: Precision?, keepFloat: String = QuantizePass.defaultKeepFloat, int4FallbackToInt8: Bool = false) throws {
        self.weights = weights
        self.experts = experts ?? weights
        do { self.keepFloat = try NSRegularExpression(pattern: keepFloat) } catch {
            throw PassError.option("--keep-float: '\(keepFloat)' is not a valid regular expression")
        }
        self.int4FallbackToInt8 = int4FallbackToInt8
    }

    public func run(_ g: inout Graph, _ ctx: inout PassContext) throws -> (notes: [String], details: [String: JSONValue]) {
        let original = g
        // Candidates: the weight input of every linear, and fc1/fc2 of every moe_mlp.
        var candidates = [(name: String, expert: Bool, consumer: String, bias: String?)]()
        for n in g.nodes {
            switch n.op {
            case .linear: candidates.append((n.inputs[1], false, n.outputs[0], n.inputs.count > 2 ? n.inputs[2] : nil))
            case .moeMLP: candidates += [(n.inputs[3], true, n.outputs[0], n.inputs[4]), (n.inputs[5], true, n.outputs[0], n.inputs[6])]
            default: break
            }
        }
        var notes = [String](), perTensor = [JSONValue]()
        var counts = [Precision: Int]()
        var newNodes = [Node]()
        for c in candidates {
            guard let t = g.constants[c.name], t.dtype.isFloat else { continue }
            let range = NSRange(c.name.startIndex..., in: c.name)
            if keepFloat.firstMatch(in: c.name, range: range) != nil { continue }
            var p = c.expert ? experts : weights
            let k = t.shape[t.shape.count - 2]
            if p == .int4 && k % QuantizePass.group != 0 {
                guard int4FallbackToInt8 else {
                    throw PassError.unsupported(tensor: c.name, reason: "int4 needs the input axis (\(k)) to be a multiple of \(QuantizePass.group); pass --int4-fallback int8 or --keep-float")
                }
                notes.append("\(c.name): input axis \(k) is not a multiple of \(QuantizePass.group), stored int8")
                p = .int8
            }
            let before = t.byteCount
            switch p {
            case .float: continue
            case .fp16:
                let v = t.floatValues()
                if let bad = v.first(where: { abs($0) > 65504 }) {
                    notes.append("\(c.name): kept float, value \(bad) overflows fp16")
                    continue
                }
                g.constants[c.name] = Tensor(converting: v, shape: t.shape, to: .float16)
            case .int8, .int4:
                let (q, s) = p == .int8 ? quantizeInt8(t) : quantizeInt4(t)
                g.constants[c.name] = nil
                g.constants[c.name + ".q"] = q
                g.constants[c.name + ".scale"] = s
                newNodes.append(Node(name: c.name + ".dequantize", op: .dequantize(p == .int8 ? .int8PerChannel : .int4Grouped(group: QuantizePass.group)),
                                     inputs: [c.name + ".q", c.name + ".scale"], outputs: [c.name]))
            }
            if let b = c.bias, let bt = g.constants[b], bt.dtype == .float32, g.uses(of: b).count == 1 {
                g.constants[b] = Tensor(converting: bt.floatValues(), shape: bt.shape, to: .float16)
            }
            counts[p, default: 0] += 1
            let after = (g.constants[c.name]?.byteCount ?? 0) + (g.constants[c.name + ".q"]?.byteCount ?? 0) + (g.constants[c.name + ".scale"]?.byteCount ?? 0)
            perTensor.append(.object(["tensor": .string(c.name), "precision": .string(p.rawValue), "bytes_before": .number(Double(before)), "bytes_after": .number(Double(after))]))
        }
        g.nodes = newNodes + g.nodes
        try g.reinferTypes()
        notes.insert("quantized " + Precision.allCases.compactMap { p in counts[p].map { "\($0) tensor(s) to \(p.rawValue)" } }.joined(separator: ", "), at: 0)
        var details: [String: JSONValue] = ["tensors": .array(perTensor)]

        // Per-layer error and top-1 agreement against the float graph on the calibration images.
        if let calib = ctx.calibration {
            let layers = candidates.map(\.consumer).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let routes = g.nodes.compactMap { n -> String? in if case .route = n.op { return n.outputs[0] } else { return nil } }
            let a = try Evaluate.run(original, calib, threads: ctx.threads, fetch: layers + routes)
            let b = try Evaluate.run(g, calib, threads: ctx.threads, fetch: layers + routes)
            // An image whose experts change sees a different MoE block altogether: count those separately.
            var changed = Set<Int>()
            for r in routes {
                let x = a[r]!.floatValues(), y = b[r]!.floatValues(), k = a[r]!.shape[1]
                for i in x.indices where x[i] != y[i] { changed.insert(i / k) }
            }
            details["route_changes"] = .number(Double(changed.count))
            if !routes.isEmpty { notes.append("routes changed on \(changed.count)/\(calib.shape[0]) calibration image(s) (upstream quantization error moved the router's choice)") }
            var rows = [JSONValue]()
            var worst = (name: "", snr: Double.infinity)
            for l in layers {
                let x = a[l]!.floatValues(), y = b[l]!.floatValues()
                var maxd: Float = 0, sig = 0.0, noise = 0.0, dot = 0.0, nx = 0.0, ny = 0.0
                for i in x.indices {
                    let d = Double(x[i] - y[i])
                    maxd = max(maxd, abs(x[i] - y[i])); sig += Double(x[i]) * Double(x[i]); noise += d * d
                    dot += Double(x[i]) * Double(y[i]); nx += Double(x[i]) * Double(x[i]); ny += Double(y[i]) * Double(y[i])
                }
                let snr = noise == 0 ? 200 : 10 * log10(sig / noise)
                let cosine = nx == 0 || ny == 0 ? 1 : dot / (nx.squareRoot() * ny.squareRoot())
                if snr < worst.snr { worst = (l, snr) }
                rows.append(.object(["layer": .string(l), "max_abs_diff": .number(Double(maxd)), "snr_db": .number(snr), "cosine": .number(cosine)]))
            }
            let out = g.outputs[0]
            let la = a[out]!, lb = b[out]!
            let cls = la.shape[1], va = la.floatValues(), vb = lb.floatValues()
            func top1(_ v: [Float], _ r: Int) -> Int { (0..<cls).max { v[r * cls + $0] < v[r * cls + $1] || (v[r * cls + $0] == v[r * cls + $1] && $0 > $1) }! }
            let n = la.shape[0]
            let agree = (0..<n).filter { top1(va, $0) == top1(vb, $0) }.count
            let logitDiff = Evaluate.maxAbsDiff(la, lb)
            details["layers"] = .array(rows)
            details["top1_agreement"] = .number(Double(agree) / Double(n))
            details["logits_max_abs_diff"] = .number(Double(logitDiff))
            notes.append(String(format: "top-1 agreement with float %d/%d (%.2f%%) on calibration; logits max |Δ| %.3g; worst layer %@ at %.1f dB SNR",
                                agree, n, 100 * Double(agree) / Double(n), Double(logitDiff), worst.name, worst.snr))
        }
        return (notes, details)
    }

    /// Symmetric int8 per output channel: scale[e,n] = f16(max_k |w[e,k,n]| / 127); q = round(w/scale).
    func quantizeInt8(_ t: Tensor) -> (Tensor, Tensor) {
        let lead = t.shape.count == 3 ? t.shape[0] : 1, k = t.shape[t.shape.count - 2], n = t.shape[t.shape.count - 1]
        let v = t.floatValues()
        var scales = [UInt16](repeating: 0, count: lead * n)
        let q = ByteStorage(count: lead * k * n) { out in
            for e in 0..<lead {
                for c in 0..<n {
                    var m: Float = 0
                    for r in 0..<k { m = max(m, abs(v[(e * k + r) * n + c])) }
                    let s16 = Float16(m / 127)
                    scales[e * n + c] = s16.bitPattern
                    let s = Float(s16)
                    for r in 0..<k {
                        let i = (e * k + r) * n + c
                        out[i] = s > 0 ? UInt8(bitPattern: Int8(max(-127, min(127, (v[i] / s).rounded(.toNearestOrEven))))) : 0
                    }
                }
            }
        }
        let scaleShape = t.shape.count == 3 ? [lead, n] : [n]
        let ss = scales.withUnsafeBytes { ByteStorage(copying: $0) }
        return (Tensor(dtype: .int8, shape: t.shape, storage: q), Tensor(dtype: .float16, shape: scaleShape, storage: ss))
    }

    /// Symmetric int4 in groups of 32 inputs: scale = f16(max|w|/7); q = round(w/scale) in [-7, 7].
    func quantizeInt4(_ t: Tensor) -> (Tensor, Tensor) {
        let lead = t.shape.count == 3 ? t.shape[0] : 1, k = t.shape[t.shape.count - 2], n = t.shape[t.shape.count - 1]
        let g = QuantizePass.group, groups = k / g
        let v = t.floatValues()
        var scales = [UInt16](repeating: 0, count: lead * groups * n)
        let q = ByteStorage(count: (lead * k * n + 1) / 2) { out in
            for e in 0..<lead {
                for gi in 0..<groups {
                    for c in 0..<n {
                        var m: Float = 0
                        for r in (gi * g)..<((gi + 1) * g) { m = max(m, abs(v[(e * k + r) * n + c])) }
                        let s16 = Float16(m / 7)
                        scales[(e * groups + gi) * n + c] = s16.bitPattern
                        let s = Float(s16)
                        for r in (gi * g)..<((gi + 1) * g) {
                            let i = (e * k + r) * n + c
                            let qi = s > 0 ? Int8(max(-7, min(7, (v[i] / s).rounded(.toNearestOrEven)))) : 0
                            let nib = UInt8(bitPattern: qi) & 0x0F
                            out[i >> 1] |= (i & 1) == 0 ? nib : nib << 4
                        }
                    }
                }
            }
        }
        let scaleShape = t.shape.count == 3 ? [lead, groups, n] : [groups, n]
        let ss = scales.withUnsafeBytes { ByteStorage(copying: $0) }
        return (Tensor(dtype: .int4, shape: t.shape, storage: q), Tensor(dtype: .float16, shape: scaleShape, storage: ss))
    }
}
