import CHDF5
import Foundation
import VMoECore

/// The contents of an HDF5 checkpoint: tensors by dotted name and the `config` attribute, if any.
public struct HDF5Checkpoint {
    public var tensors: [String: Tensor]
    public var configJSON: String?

    /// Largest dataset accepted, as a guard against absurd dims in a damaged file.
    public static let maxDatasetBytes = 1 << 34

    /// Reads every dataset of `path` (groups are flattened: `blocks/0/attn` → `blocks.0.attn`).
    public static func read(path: String) throws -> HDF5Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error.notFound(path: path) }
        _ = vmoe_silence_errors()
        guard H5Fis_hdf5(path) > 0 else { throw HDF5Error.notHDF5(path: path) }
        let file = H5Fopen(path, vmoe_h5f_acc_rdonly(), vmoe_h5p_default())
        guard file >= 0 else { throw HDF5Error.open(path: path) }
        defer { H5Fclose(file) }

        final class Names { var list = [String]() }
        let names = Names()
        let status = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, { _, name, _, data in
            guard let name = name, let data = data else { return -1 }
            Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }, Unmanaged.passUnretained(names).toOpaque())
        guard status >= 0 else { throw HDF5Error.open(path: path) }

        var tensors = [String: Tensor]()
        for name in names.list {
            let obj = H5Oopen(file, name, vmoe_h5p_default())
            guard obj >= 0 else { continue }  // dangling or external links are not datasets
            let kind = H5Iget_type(obj)
            H5Oclose(obj)
            guard kind == H5I_DATASET else { continue }
            let dotted = name.replacingOccurrences(of: "/", with: ".")
            guard tensors[dotted] == nil else {
                throw HDF5Error.dataset(path: path, name: name, reason: "names '\(dotted)' like another dataset")
            }
            tensors[dotted] = try readDataset(file: file, name: name, path: path)
        }
        return HDF5Checkpoint(tensors: tensors, configJSON: try readConfig(file: file, path: path))
    }

    private static func readDataset(file: hid_t, name: String, path: String) throws -> Tensor {
        func fail(_ r: String) -> HDF5Error { .dataset(path: path, name: name, reason: r) }
        let ds = H5Dopen2(file, name, vmoe_h5p_default())
        guard ds >= 0 else { throw fail("cannot open") }
        defer { H5Dclose(ds) }
        let space = H5Dget_space(ds)
        guard space >= 0 else { throw fail("cannot read its dataspace") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw fail("rank \(rank) is not supported (at most 8)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { throw fail("cannot read its shape") } }
        let shape = dims.map { Int(clamping: $0) }
        let type = H5Dget_type(ds)
        guard type >= 0 else { throw fail("cannot read its type") }
        defer { H5Tclose(type) }
        let cls = H5Tget_class(type), size = H5Tget_size(type)
        let dtype: DType
        let memType: hid_t
        var ownedMemType = false
        switch (cls, size) {
        case (H5T_FLOAT, 4): dtype = .float32; memType = vmoe_native_float()
        case (H5T_FLOAT, 8): dtype = .float64; memType = vmoe_native_double()
        case (H5T_FLOAT, 2):
            dtype = .float16
            memType = H5Tcopy(type)
            ownedMemType = true
            H5Tset_order(memType, H5T_ORDER_LE)
        case (H5T_INTEGER, _): dtype = .int64; memType = vmoe_native_int64()
        default: throw fail("element type (class \(cls.rawValue), \(size) bytes) is not supported; expected float16, float32 or float64")
        }
        defer { if ownedMemType { H5Tclose(memType) } }
        guard let count = elementCount(shape), let bytes = dtype.byteCount(elements: count), bytes <= maxDatasetBytes else {
            throw fail("shape \(shape) is too large")
        }
        let storage = try ByteStorage(count: bytes) { out in
            guard count == 0 || H5Dread(ds, memType, vmoe_h5s_all(), vmoe_h5s_all(), vmoe_h5p_default(), out.baseAddress) >= 0 else {
                throw fail("cannot read its data (truncated or damaged file?)")
            }
        }
        return Tensor(dtype: dtype, shape: shape, storage: storage)
    }

    /// The root attribute `config` as text: variable- or fixed-length string.
    private static func readConfig(file: hid_t, path: String) throws -> String? {
        guard H5Aexists(file, "config") > 0 else { return nil }
        func fail(_ r: String) -> HDF5Error { .attribute(path: path, name: "config", reason: r) }
        let attr = H5Aopen(file, "config", vmoe_h5p_default())
        guard attr >= 0 else { throw fail("cannot open") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        guard type >= 0 else { throw fail("cannot read its type") }
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else { throw fail("must be a string holding JSON") }
        let space = H5Aget_space(attr)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_npoints(space) == 1 else { throw fail("must be a single string, not an array") }
        let mem = H5Tcopy(vmoe_c_s1())
        defer { H5Tclose(mem) }
        if H5Tis_variable_str(type) > 0 {
            H5Tset_size(mem, vmoe_h5t_variable())
            H5Tset_cset(mem, H5Tget_cset(type))
            var ptr: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attr, mem, &ptr) >= 0, let p = ptr else { throw fail("cannot read") }
            defer { H5free_memory(p) }
            return String(cString: p)
        }
        let size = H5Tget_size(type)
        guard size > 0, size < 1 << 26 else { throw fail("string of \(size) bytes is not accepted") }
        H5Tset_size(mem, size)
        var buf = [CChar](repeating: 0, count: size + 1)
        guard H5Aread(attr, mem, &buf) >= 0 else { throw fail("cannot read") }
        return String(cString: buf)
    }
}
