#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Moves model sets between the store and a transport, the same way for every transport (DESIGN.md
/// "Transports"): read a channel, fetch and validate the manifest, ask the other side which blobs it has,
/// move only the missing ones — streamed, each digest verified before it enters the store or leaves it —
/// then, when publishing, move the channel last with compare-and-swap.
///
/// Transports implement ``TransferSource`` (pull) and ``TransferDestination`` (publish) and nothing else;
/// `Puller`, `Publisher` and the archive import talk to the engine only.
///
/// ```swift
/// let pulled = try TransferEngine(store: store).pull(from: source, channel: "latest")
/// try Generations(store: store, modelsDir: models).activate(pulled.manifest.digest, options: options)
/// ```
public struct TransferEngine {
    /// What a pull stored.
    public struct Pulled: Sendable, Equatable {
        /// The manifest, checked against the digest the channel named and recorded in the store.
        public let manifest: Manifest
        /// File blobs that were not in the store before (the manifest object is not counted).
        public let fetchedObjects: Int
        /// Their bytes.
        public let fetchedBytes: UInt64
    }

    /// What a publish did.
    public struct Published: Sendable, Equatable {
        /// The change that moved the channel (a git commit id); nil when the destination was up to date.
        public let receipt: String?
        /// Blobs uploaded and their bytes (zero when up to date).
        public let newObjects: Int
        public let newBytes: UInt64
        /// The release signed with the channel move, when publishing with a signer.
        public var release: ReleaseStatement?
    }

    /// How many times a publish starts over when another publisher moved the channel first.
    public static let publishAttempts = 2

    let store: Store
    /// Receives byte progress (`fetching`, `verifying`).
    public var progress: ProgressHandler?

    /// An engine moving blobs into and out of `store`.
    public init(store: Store, progress: ProgressHandler? = nil) {
        self.store = store
        self.progress = progress
    }

    // MARK: pull

    /// Reads `channel` from `source`, fetches the blobs of the manifest it names that the store lacks, verifies
    /// each, and records the manifest. Throws ``IntegrityError`` (in the source's words) on any mismatch; a
    /// source that keeps nothing on failure leaves the store as it was.
    public func pull(from source: any TransferSource, channel: String) throws -> Pulled {
        let digest = try source.channel(channel)
        let manifest = try fetchManifest(digest, from: source)
        return try pull(manifest, from: source)
    }

    /// Fetches the blobs of an already validated `manifest` that the store lacks, and records it.
    public func pull(_ manifest: Manifest, from source: any TransferSource) throws -> Pulled {
        // Blobs already stored are not fetched again: the manifest's sizes for them are checked here instead.
        try store.objects.checkSizes(of: manifest)
        let missing = missingEntries(of: manifest)
        try source.checkAvailable(missing, of: manifest)
        let insertions = try fetch(missing, from: source)
        try store.recordObjects(insertions)
        try store.recordManifest(manifest)
        let created = insertions.filter(\.created)
        return Pulled(manifest: manifest, fetchedObjects: created.count, fetchedBytes: created.reduce(0) { $0 + $1.size })
    }

    /// The manifest `digest` from `source`, checked: its bytes hash to the digest and it validates.
    public func fetchManifest(_ digest: Digest, from source: any TransferSource) throws -> Manifest {
        try Self.validatedManifest(digest, from: source)
    }

    /// The manifest `digest` from `source`, checked, without a store (a dry run).
    public static func validatedManifest(_ digest: Digest, from source: any TransferSource) throws -> Manifest {
        let bytes = try source.manifestBytes(digest)
        do {
            return try Manifest.decode(bytes, expecting: digest)
        } catch {
            // Typed: the decoder throws only IntegrityError.
            throw source.describe(error, entry: nil)
        }
    }

    /// One entry per distinct blob of `manifest` that the store does not hold, in manifest order.
    func missingEntries(of manifest: Manifest) -> [ManifestEntry] {
        manifest.files.distinctByDigest().filter { !store.objects.contains($0.digest) }
    }

    /// Streams the entries into the store through the source's ``TransferSource/fetchBlobs(_:into:)``; each
    /// ``IncomingBlob`` hashes on the way in and links the object only when digest and size match. On failure,
    /// the blobs stored so far are recorded (a registry) or removed again (an archive), as the source asks.
    private func fetch(_ entries: [ManifestEntry], from source: any TransferSource) throws -> [ObjectStore.Insertion] {
        let sink = BlobSink(objects: store.objects, total: entries.reduce(0) { $0 + $1.size }, progress: progress)
        do {
            try source.fetchBlobs(entries, into: sink)
        } catch {
            try undo(sink.insertions, keep: source.keepsVerifiedBlobsOnFailure)
            if let failure = error as? IntegrityError { throw source.describe(failure, entry: sink.failedEntry) }
            throw error
        }
        return sink.insertions
    }

    /// After a failed fetch: keeps what was verified (recorded, so a later pull need not fetch it again), or
    /// removes the objects this pull created, with the fan-out directories it created.
    private func undo(_ insertions: [ObjectStore.Insertion], keep: Bool) throws {
        if keep {
            try? store.recordObjects(insertions)
            return
        }
        for insertion in insertions where insertion.created {
            try? store.objects.remove(insertion.digest)
            // rmdir fails, harmlessly, when another object shares the directory.
            rmdir(store.layout.objects + "/sha256/" + insertion.digest.fanout)
        }
    }

    // MARK: publish

    /// Makes `channel` on `destination` name `manifest` (already in the store): uploads the manifest and only
    /// the blobs the destination lacks, each re-hashed from the store just before it leaves, then moves the
    /// channel by compare-and-swap. When another publisher moved the channel first, starts over on the new
    /// state, up to ``publishAttempts`` times. Up to date (channel, manifest and every blob already there):
    /// nothing is uploaded and `receipt` is nil.
    ///
    /// With `signer`, the manifest's signature and the channel's next release (sequence one more than the
    /// state's) land with the channel move; a state whose release is current stays up to date, an older one
    /// is renewed even when nothing else changed.
    ///
    /// `freshObjects` are objects this process wrote into the store moments ago from the bytes it hashed (the
    /// publish's own import): they are checked for presence and size but not hashed again, since reading
    /// them back would read the page cache, not the disk, and so could catch no rot.
    public func publish(_ manifest: Manifest, to destination: any TransferDestination, channel: String,
                        signer: ReleaseSigner? = nil, freshObjects: Set<Digest> = []) throws -> Published {
        var lastConflict: (any Error)?
        for _ in 1...Self.publishAttempts {
            let session = try destination.beginPublish()
            let expected = try session.channel(channel)
            let missing = try Self.blobsToSend(manifest, session: session)
            let previous = try signer == nil ? nil : Self.currentRelease(channel, in: session)
            let manifestSignature = signer?.manifestSignature(
                manifest.digest, merging: try session.signatureBytes(.manifest(manifest.digest)))
            let signed = signer.map { manifestSignature == nil && $0.isCurrent(previous, manifest: manifest.digest) } ?? true
            if expected == manifest.digest, missing.isEmpty, signed, try session.hasManifest(manifest.digest) {
                return Published(receipt: nil, newObjects: 0, newBytes: 0)
            }
            try upload(missing, to: session, fresh: freshObjects)
            try session.putManifest(manifest)
            let release = signer.map { $0.release(channel, manifest: manifest.digest, after: previous) }
            if let signer, let release {
                if let manifestSignature { try session.putSignature(.manifest(manifest.digest), bytes: manifestSignature) }
                try session.putSignature(.release(channel: channel), bytes: signer.releaseSignature(release))
            }
            let summary = PublishSummary(manifest: manifest.digest, files: manifest.files.count,
                                         bytes: manifest.totalBytes, newObjects: missing.count,
                                         newBytes: missing.reduce(0) { $0 + $1.size })
            switch try session.moveChannel(channel, to: manifest.digest, expecting: expected, summary: summary) {
            case .moved(let receipt):
                return Published(receipt: receipt, newObjects: summary.newObjects, newBytes: summary.newBytes,
                                 release: release)
            case .conflict(let reason):
                lastConflict = reason
            }
        }
        throw destination.lostRace(lastConflict!)
    }

    /// The channel's release in the session's state, read for its sequence (its signature is the clients'
    /// business); a file that does not parse stops the publish, since numbering from 1 again would look like a
    /// rollback to every client.
    private static func currentRelease(_ channel: String, in session: any PublishSession) throws -> ReleaseStatement? {
        let file = SignatureFile.release(channel: channel)
        guard let bytes = try session.signatureBytes(file) else { return nil }
        return try ReleaseStatement.decode(SignatureEnvelope.decode(bytes, name: file.relativePath).statement,
                                           name: file.relativePath)
    }

    /// The distinct blobs of `manifest` the session lacks, in manifest order: what a publish uploads, and what
    /// a dry run counts.
    static func blobsToSend(_ manifest: Manifest, session: any PublishSession) throws -> [ManifestEntry] {
        let distinct = manifest.files.distinctByDigest()
        let lacking = try session.missingBlobs(distinct.map(\.digest))
        return distinct.filter { lacking.contains($0.digest) }
    }

    /// Hands the blobs to the session, each verified against its digest in the store just before it leaves.
    private func upload(_ entries: [ManifestEntry], to session: any PublishSession, fresh: Set<Digest>) throws {
        let objects = store.objects
        let root = store.layout.root
        let outgoing = OutgoingBlobs(total: entries.reduce(0) { $0 + $1.size }, progress: progress) { entry in
            try Self.verifiedBlob(entry, objects: objects, storeRoot: root, fresh: fresh.contains(entry.digest))
        }
        try session.putBlobs(entries, from: outgoing)
    }

    /// The store's object for `entry`, after checking that its bytes still hash to its name: a blob that rotted
    /// on disk never leaves the store (`fsck --repair` quarantines it, a new import restores it).
    private static func verifiedBlob(_ entry: ManifestEntry, objects: ObjectStore, storeRoot: String,
                                     fresh: Bool) throws -> OutgoingBlob {
        let path = objects.path(of: entry.digest)
        let missing = IntegrityError(.missingObject, "object \(entry.digest) (\(entry.path)) is not in the store \(storeRoot)",
                                     hint: "import the models folder again, then publish")
        if fresh {
            // One stat answers both questions: is the object there, and is it the size the manifest says.
            guard let info = try FileSystem.status(path) else { throw missing }
            guard UInt64(info.st_size) == entry.size else {
                throw IntegrityError(.sizeMismatch, "object \(path) (\(entry.path)) is \(info.st_size) bytes, "
                                     + "not \(entry.size); it was not published",
                                     hint: "run `model-sync fsck --repair`, then publish again")
            }
            return OutgoingBlob(digest: entry.digest, size: entry.size, path: path)
        }
        guard objects.contains(entry.digest) else { throw missing }
        let (digest, size) = try ObjectStore.hashFile(at: path)
        guard digest == entry.digest, size == entry.size else {
            throw IntegrityError(.digestMismatch, "object \(path) (\(entry.path)) hashes to \(digest) (\(size) bytes), "
                                 + "not to its name; it was not published",
                                 hint: "run `model-sync fsck --repair`, then publish again")
        }
        return OutgoingBlob(digest: entry.digest, size: entry.size, path: path)
    }
}

@available(*, unavailable)
extension TransferEngine: Sendable {}
