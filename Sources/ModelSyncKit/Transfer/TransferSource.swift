/// Where a pull reads a model set from: a registry commit, a delta archive, and later a Git LFS server or an
/// OCI registry. A transport implements these few reads; ``TransferEngine`` does everything else — it checks
/// the manifest against its digest, asks the store which blobs it lacks, streams only those and verifies each
/// digest before it enters the store.
///
/// A source never writes into the store and never activates anything.
public protocol TransferSource: AnyObject {
    /// The manifest a channel names (`latest`). Throws a usage error naming the source when nothing was
    /// published there yet.
    func channel(_ name: String) throws -> Digest

    /// The bytes of manifest `digest`, as the source holds them; the engine checks them against the digest.
    func manifestBytes(_ digest: Digest) throws -> [UInt8]

    /// Called once, before any byte moves, with the blobs the store lacks: throws when the source cannot
    /// serve one of them, so a set the source cannot complete is refused before anything is written.
    func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws

    /// Fetches `entries` (distinct blobs the store lacks, already checked by ``checkAvailable(_:of:)``) into
    /// `sink`, one ``IncomingBlob`` each, finished in any order. A transport that can run transfers in parallel
    /// implements it; the default reads one blob after another with ``readBlob(_:into:)``.
    /// On failure, the blobs finished so far stay in the sink for the engine to keep or undo.
    func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws

    /// Streams the bytes of `entry`'s blob to `body`, in chunks. The engine hashes them on the way in.
    func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws

    /// An integrity failure reworded in the source's own terms (which registry path, which archive), so the
    /// message says where the bad bytes came from. `entry` is nil for the manifest itself.
    func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError

    /// Whether verified blobs stay in the store when a later blob fails: true for a registry (a retry need not
    /// fetch them again), false for an archive (a rejected archive leaves the store exactly as it was).
    var keepsVerifiedBlobsOnFailure: Bool { get }

    /// The bytes of a signature file (docs/signing.md), nil when the source has none.
    func signatureBytes(_ file: SignatureFile) throws -> [UInt8]?

    /// Where a signature file sits, for messages (a registry path at a commit, an archive entry).
    func signatureLocation(_ file: SignatureFile) -> String
}

extension TransferSource {
    /// A source that carries no signatures: clients that require them refuse it.
    public func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? { nil }

    /// The file's path relative to the model folder.
    public func signatureLocation(_ file: SignatureFile) -> String { file.relativePath }

    /// One blob after another, each streamed through ``readBlob(_:into:)``.
    public func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        for entry in entries {
            let blob = try sink.open(entry)
            do {
                try readBlob(entry) { chunk in try blob.write(chunk) }
                try blob.finish()
            } catch {
                blob.abandon()
                sink.markFailed(entry)
                throw error
            }
        }
    }
}
