/// Why an HDF5 checkpoint could not be read. Cases name the file and the dataset or attribute.
public enum HDF5Error: Error, CustomStringConvertible, Equatable {
    case notFound(path: String)
    case notHDF5(path: String)
    case open(path: String)
    case dataset(path: String, name: String, reason: String)
    case attribute(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(p): return "\(p): no such file"
        case let .notHDF5(p): return "\(p): not an HDF5 file"
        case let .open(p): return "\(p): HDF5 cannot open the file (truncated or damaged?)"
        case let .dataset(p, n, r): return "\(p): dataset '\(n)': \(r)"
        case let .attribute(p, n, r): return "\(p): attribute '\(n)': \(r)"
        }
    }
}
