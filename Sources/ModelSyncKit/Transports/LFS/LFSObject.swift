/// One Git LFS object: its oid (the SHA-256 of its bytes, the same name the store uses) and size.
public struct LFSObject: Hashable, Sendable {
    /// The SHA-256 of the object's bytes.
    public let oid: Digest
    /// The object's size in bytes.
    public let size: UInt64

    /// An object of `size` bytes named `oid`.
    public init(oid: Digest, size: UInt64) {
        self.oid = oid
        self.size = size
    }

    /// The object holding the bytes of a manifest entry.
    public init(_ entry: ManifestEntry) {
        self.init(oid: entry.digest, size: entry.size)
    }
}
