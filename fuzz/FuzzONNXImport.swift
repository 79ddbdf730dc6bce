// libFuzzer entry point for the ONNX importer: protobuf-c decoding, constant folding, lowering and
// raising. Every input must end in a graph or an ONNXError — never a crash. Built by scripts/fuzz.sh.
import Foundation
import VMoEONNX

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let m = try? ONNXModel.decode(bytes, path: "/nonexistent/fuzz.onnx") { _ = try? ONNXImporter.importModel(m) }
    return 0
}
