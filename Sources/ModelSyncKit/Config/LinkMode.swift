/// How a generation's files are made from store objects (`link_mode`).
public enum LinkMode: String, Sendable, Hashable, CaseIterable {
    /// Hard link when the store and the models are on one filesystem, else copy.
    case auto
    /// Hard link only; fail when that is impossible.
    case hardlink
    /// Copy-on-write clone (`FICLONE`) where the filesystem supports it (btrfs, XFS), else a copy.
    case reflink
    /// Always copy the bytes.
    case copy
}
