/// What a push did with each blob, for the caller's record and the tests.
public struct OCIPushSummary: Sendable, Equatable {
    /// Blobs whose bytes were sent.
    public var uploaded = 0
    /// The bytes of those blobs.
    public var uploadedBytes: UInt64 = 0
    /// Blobs mounted from another repository of the registry instead.
    public var mounted = 0
    /// Blobs the repository already held (found by `HEAD`).
    public var present = 0

    /// An empty summary.
    public init() {}
}
