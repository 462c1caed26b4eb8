// INTERFACE SKELETON — to be replaced by the real implementation on the lfs-client branch.

/// A Git LFS pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
public enum LFSPointer {
    /// Pointer files are small; anything larger is file content.
    public static let maxSize = 1024
    /// The canonical pointer text for `object`: version, `oid sha256:<hex>`, `size <n>`, each ending in LF.
    public static func text(for object: LFSObject) -> [UInt8] { fatalError("skeleton") }
    /// The object a pointer names, or nil when `bytes` is not a valid pointer.
    public static func parse(_ bytes: [UInt8]) -> LFSObject? { fatalError("skeleton") }
}
