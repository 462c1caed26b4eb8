/// What a publish session reads the blobs it uploads from: each blob re-hashed from the store just before it
/// leaves (a blob that rotted on disk never leaves), and the upload progress.
///
/// Thread-safe: a destination may upload several blobs at once (Git LFS, OCI), each verified on its own
/// thread just before its transfer starts.
public final class OutgoingBlobs: Sendable {
    private let verify: @Sendable (ManifestEntry) throws -> OutgoingBlob
    private let completed = Locked<UInt64>(0)
    /// The bytes of every blob the publish uploads.
    public let total: UInt64
    private let progress: ProgressHandler?

    init(total: UInt64, progress: ProgressHandler?, verify: @escaping @Sendable (ManifestEntry) throws -> OutgoingBlob) {
        self.total = total
        self.progress = progress
        self.verify = verify
    }

    /// The store's object for `entry`, after checking that its bytes still hash to its name.
    public func verified(_ entry: ManifestEntry) throws -> OutgoingBlob {
        try verify(entry)
    }

    /// Reports `count` more bytes uploaded (negative when a transfer starts over).
    public func sent(_ count: Int64) {
        let done = completed.withLock { value -> UInt64 in
            value = UInt64(max(0, Int64(value) + count))
            return value
        }
        progress?(Progress(phase: "uploading", completed: min(done, total), total: total))
    }
}
