// libFuzzer entry point for the .vmoe reader. Built by scripts/fuzz.sh; any crash, hang or
// sanitizer report is a bug: the reader must turn every input into a value or a FormatError.
import VMoECore
import VMoEFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let storage = ByteStorage(copying: UnsafeRawBufferPointer(start: data, count: size))
    _ = try? VMoEFile.decode(storage.buffer, owner: storage, checksums: false)
    _ = try? VMoEFile.decode(storage.buffer, owner: storage, checksums: true)
    return 0
}
