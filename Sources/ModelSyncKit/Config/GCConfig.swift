/// `model_sync.gc`: garbage collection of the store.
public struct GCConfig: Sendable, Hashable {
    /// `grace_sec` [86400]: objects younger than this are kept even when unreferenced.
    public var graceSec: Double = 86400

    /// The defaults.
    public init() {}
}
