import Foundation
import VMoECore
import VMoEIR
import VMoEFormat

extension VMoECommand {
    struct InspectReport: Encodable {
        struct TensorRow: Encodable {
            var name: String; var dtype: String; var shape: [Int]; var bytes: Int; var role: String
        }
        var file: String
        var fileBytes: Int
        var formatVersion: Int
        var config: ModelConfig
        var provenance: Provenance
        var routing: [String]
        var parameters: Int
        var weightBytes: Int
        var tensors: [TensorRow]

        enum CodingKeys: String, CodingKey {
            case file, fileBytes = "file_bytes", formatVersion = "format_version", config, provenance, routing
            case parameters, weightBytes = "weight_bytes", tensors
        }
    }

    static func inspect(_ path: String, _ args: Arguments, _ io: Output) throws -> Int32 {
        let file = try VMoEFile.open(path: path)
        let m = file.model, c = m.metadata.config, g = m.graph
        var routing = [String]()
        for n in g.nodes {
            switch n.op {
            case let .route(s):
                let e = g.constants[n.inputs[1]]?.shape.last ?? 0
                routing.append("\(n.name): reads \(s.input.rawValue) of '\(n.inputs[0])', top-\(s.topK) of \(e) experts, \(s.gate.rawValue) gates\(s.allowed.map { ", allowed \($0)" } ?? "")")
            case .moeMLP:
                let e = g.constants[n.inputs[3]]?.shape.first ?? 0
                routing.append("\(n.name): \(e) experts, routed by '\(n.inputs[1].split(separator: ".").dropLast().joined(separator: "."))'")
            default: break
            }
        }
        let rows = file.tensors.map {
            InspectReport.TensorRow(name: $0.name, dtype: $0.dtype.name, shape: $0.shape, bytes: $0.byteLength,
                                    role: ["weight", "golden input", "golden output"][Int($0.role.rawValue)])
        }
        let report = InspectReport(file: path, fileBytes: file.fileSize, formatVersion: m.metadata.formatVersion, config: c,
                                   provenance: m.metadata.provenance, routing: routing, parameters: g.parameterCount,
                                   weightBytes: g.constantBytes, tensors: rows)
        if args.flags.contains("json") { io.json(report); return ExitCode.ok }

        io.out("\(path): .vmoe v\(m.metadata.formatVersion), \(file.fileSize) bytes")
        io.out("model: \(c.family.rawValue), image \(c.inChannels)×\(c.imageSize)×\(c.imageSize), patch \(c.patchSize), dim \(c.dim), depth \(c.depth), heads \(c.heads), mlp \(c.hidden), \(c.numClasses) classes, LayerNorm eps \(c.layerNormEps)")
        if c.isMoE {
            io.out("MoE: blocks \(c.moeLayers), \(c.numExperts) experts, top-\(c.topK), \(c.router.rawValue) router on \(c.routerInput.rawValue), \(c.gate.rawValue) gates")
        }
        for r in routing { io.out("  \(r)") }
        if let map = c.superclassOfClass {
            let names = c.classNames
            let groups = Dictionary(grouping: map.indices, by: { map[$0] }).sorted { $0.key < $1.key }
            io.out("super-class map (super-class: classes):")
            for (s, classes) in groups { io.out("  \(s): \(classes.map { names?[$0] ?? String($0) }.joined(separator: ", "))") }
        }
        let p = m.metadata.provenance
        io.out("provenance: \(p.source) (sha256 \(p.sourceSHA256)), \(p.converter)")
        io.out("  passes: \(p.passes.isEmpty ? "none" : p.passes.map { "\($0.name) (\($0.summary))" }.joined(separator: "; "))")
        io.out("  golden: \(p.goldenCount) image(s), seed \(p.goldenSeed)")
        if !p.ignoredTensors.isEmpty { io.out("  ignored source tensors: \(p.ignoredTensors.joined(separator: ", "))") }
        io.out("tensors: \(rows.count), \(g.parameterCount) parameters, \(g.constantBytes) weight bytes")
        let width = rows.map(\.name.count).max() ?? 0
        for r in rows {
            io.out("  \(r.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(r.dtype.padding(toLength: 3, withPad: " ", startingAt: 0))  \(r.shape)  \(r.bytes) B\(r.role == "weight" ? "" : "  (\(r.role))")")
        }
        return ExitCode.ok
    }
}
