/// How a generation's files are made from store objects (`link_mode`).
public enum LinkMode: String, Sendable, Hashable, CaseIterable {
    /// Hard link when the store and the models are on one filesystem, else copy.
    case auto
    /// Hard link only; fail when that is impossible.
    case hardlink
    /// Copy-on-write clone (`FICLONE`) only; fail when the filesystem cannot.
    case reflink
    /// Always copy the bytes.
    case copy
}
