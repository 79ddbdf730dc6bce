// swift-tools-version:5.9
// Module graph (dependencies point one way):
//   CHDF5 ─▶ VMoEHDF5 ─┐      CProtobufC ─▶ CONNX ─▶ VMoEONNX ─▶ VMoEConvert
//   VMoECore ─▶ VMoEIR ─┼─▶ VMoEConvert ─▶ VMoECLI ─▶ vmoe-convert, vmoe
//   VMoECore ─▶ VMoEKernels ─┐
//   VMoEIR ─▶ VMoEFormat ─▶ VMoERuntime ─┘   VMoERuntime ─▶ VMoEPasses ─▶ VMoEConvert
// The runtime depends on the format and kernels only, never on an importer or libhdf5.
import PackageDescription

// Kernels and the hashing/format code are optimised even in debug builds so the test suite
// runs real models in seconds; `haswell` = AVX2 + FMA, the portable baseline (see docs/determinism.md).
let fastFlags: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "haswell"])]

let package = Package(
    name: "vmoe",
    products: [
        .executable(name: "vmoe-convert", targets: ["vmoe-convert"]),
        .executable(name: "vmoe", targets: ["vmoe"]),
        .library(name: "VMoERuntime", targets: ["VMoERuntime"]),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CProtobufC", path: "Sources/CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CONNX", dependencies: ["CProtobufC"], path: "Sources/CONNX", cSettings: [.unsafeFlags(["-w"])]),
        .target(name: "VMoECore", swiftSettings: fastFlags),
        .target(name: "VMoEIR", dependencies: ["VMoECore"]),
        // The GEMM microkernel again, built for AVX-512 and chosen at run time (Sources/VMoEKernels/Microkernel.swift).
        .target(name: "VMoEMicrokernelAVX512", swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "skylake-avx512"])]),
        .target(name: "VMoEKernels", dependencies: ["VMoECore", "VMoEMicrokernelAVX512"], swiftSettings: fastFlags),
        .target(name: "VMoEFormat", dependencies: ["VMoECore", "VMoEIR"], swiftSettings: fastFlags),
        .target(name: "VMoERuntime", dependencies: ["VMoECore", "VMoEIR", "VMoEKernels", "VMoEFormat"],
                swiftSettings: fastFlags),
        .target(name: "VMoEPasses", dependencies: ["VMoECore", "VMoEIR", "VMoERuntime"]),
        .target(name: "VMoEONNX", dependencies: ["CONNX", "VMoECore", "VMoEIR"]),
        .target(name: "VMoEHDF5", dependencies: ["CHDF5", "VMoECore", "VMoEIR"]),
        .target(name: "VMoEConvert", dependencies: ["VMoECore", "VMoEIR", "VMoEHDF5", "VMoEONNX", "VMoEFormat", "VMoERuntime", "VMoEPasses"]),
        .target(name: "VMoECLI", dependencies: ["VMoECore", "VMoEIR", "VMoEFormat", "VMoERuntime", "VMoEConvert", "VMoEPasses"]),
        .executableTarget(name: "vmoe-convert", dependencies: ["VMoECLI"]),
        .executableTarget(name: "vmoe", dependencies: ["VMoECLI"]),
        .testTarget(name: "VMoECoreTests", dependencies: ["VMoECore"]),
        .testTarget(name: "VMoEKernelsTests", dependencies: ["VMoEKernels", "VMoECore"]),
        .testTarget(name: "VMoEFormatTests", dependencies: ["VMoEFormat", "VMoEIR", "VMoECore"]),
        .testTarget(name: "ConformanceTests",
                    dependencies: ["VMoECLI", "VMoEConvert", "VMoERuntime", "VMoEFormat", "VMoEIR", "VMoECore", "VMoEHDF5", "VMoEONNX", "VMoEPasses", "CONNX"]),
    ]
)
