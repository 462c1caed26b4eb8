/// The permission a manifest keeps for a file: only whether it is executable.
///
/// Written in a manifest as the string `"0644"` or `"0755"`; files are materialized with exactly that mode.
public enum FileMode: String, Hashable, Sendable, CaseIterable {
    /// A plain file, `rw-r--r--`.
    case regular = "0644"
    /// An executable file, `rwxr-xr-x`.
    case executable = "0755"

    /// The mode a file on disk maps to: executable when its owner may execute it (as git decides), else regular.
    ///
    /// ```swift
    /// FileMode(posixPermissions: 0o750)  // .executable
    /// FileMode(posixPermissions: 0o600)  // .regular
    /// ```
    public init(posixPermissions: UInt32) {
        self = posixPermissions & 0o100 != 0 ? .executable : .regular
    }

    /// The permission bits to give a materialized file: `0o644` or `0o755`.
    public var posixPermissions: UInt32 {
        switch self {
        case .regular: return 0o644
        case .executable: return 0o755
        }
    }
}

/// One file of a manifest: where it goes in the model set, how big it is, which object holds its bytes.
public struct ManifestEntry: Hashable, Sendable {
    /// The path relative to the model set's root, `/`-separated, in Unicode NFC (see `Manifest.validate(path:)`).
    public var path: String
    /// The file's size in bytes; it must agree with the blob named by `digest`.
    public var size: UInt64
    /// The SHA-256 of the file's bytes: the name of its object in the store.
    public var digest: Digest
    /// Whether the file is executable.
    public var mode: FileMode

    /// Creates an entry; `Manifest.init(files:)` validates it.
    public init(path: String, size: UInt64, digest: Digest, mode: FileMode = .regular) {
        self.path = path
        self.size = size
        self.digest = digest
        self.mode = mode
    }
}

extension Sequence where Element == ManifestEntry {
    /// The first entry of each blob, in order: files with the same bytes share one object, which moves once.
    func distinctByDigest() -> [ManifestEntry] {
        var seen = Set<Digest>()
        return filter { seen.insert($0.digest).inserted }
    }
}
