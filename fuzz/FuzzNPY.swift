// libFuzzer entry point for the .npy reader (vmoe run's input path).
import VMoECore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? NPY.decode(Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.npy")
    return 0
}
