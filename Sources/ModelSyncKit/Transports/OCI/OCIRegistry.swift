import Foundation

/// A manifest as a registry served it: its bytes, media type and digest (the SHA-256 of the bytes).
public struct OCIStoredManifest: Sendable, Hashable {
    /// The bytes, exactly as served (the digest covers them, so they must not be re-encoded).
    public let bytes: [UInt8]
    /// The `Content-Type` the registry gave them, without parameters (`application/vnd.oci.image.manifest.v1+json`).
    public let mediaType: String
    /// The SHA-256 of `bytes`.
    public let digest: Digest

    /// A served manifest.
    public init(bytes: [UInt8], mediaType: String, digest: Digest) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = digest
    }
}

/// The requests of the distribution API that a model set needs, on one repository (`OCIClient` makes them on
/// the wire; tests may hold a repository in memory).
public protocol OCIRepository: AnyObject, Sendable {
    /// Which of `digests` the repository lacks (`HEAD` each).
    func missingBlobs(_ digests: [Digest]) throws -> Set<Digest>
    /// Uploads `entries` (blobs the repository lacks), each verified by `outgoing` just before it leaves; says
    /// which were sent, mounted, or found present. `checkPresence: false` skips the `HEAD` of each blob, for
    /// blobs ``missingBlobs(_:)`` has just reported missing.
    @discardableResult
    func uploadBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs, checkPresence: Bool) throws -> OCIPushSummary
    /// Uploads a small blob held in memory; returns its digest.
    func putBlob(bytes: [UInt8]) throws -> Digest
    /// Downloads `entries` into `sink`, which hashes each on the way in.
    func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws
    /// A small blob, at most `maxBytes`, checked against its digest.
    func blobBytes(_ digest: Digest, maxBytes: Int) throws -> [UInt8]
    /// The manifest a tag or digest names, nil when there is none.
    func fetchManifest(_ reference: String) throws -> OCIStoredManifest?
    /// Stores a manifest under a tag (or its digest); returns its digest.
    func putManifest(_ bytes: [UInt8], mediaType: String, reference: String) throws -> Digest
    /// Deletes the manifest `digest` (and the tags naming it).
    func deleteManifest(_ digest: Digest) throws
    /// Every tag of the repository.
    func tags() throws -> [String]
    /// How many requests may run at once when many are needed (`oci.concurrency`); ``fetchManifest(_:)`` is
    /// then called from that many threads.
    var concurrency: Int { get }
}

extension OCIRepository {
    /// One at a time, for a repository that does not say it can serve more.
    public var concurrency: Int { 1 }
}

/// A model-sync registry in one repository of an OCI registry (docs/cli.md, *OCI registry*): a channel is a
/// tag; each published set is an image manifest (``OCISetMapping``) tagged both with the channel and with
/// `sha256-<hex of its model-sync manifest digest>`, so any version can be pulled by name.
///
/// It is a ``TransferSource`` (a pull: the channel's set, its manifest from the config blob or built from the
/// layers, only the blobs the store lacks, in parallel) and a ``TransferDestination`` (a publish: blobs, the
/// config blob, the manifest under its digest tag, then the channel tag, moved last).
public final class OCIRegistry {
    /// The repository the requests go to.
    public let repository: any OCIRepository
    /// `host[:port]/repository`, for messages.
    public let name: String
    /// When a publish says it made its manifest (tests fix it).
    var now: () -> Date = Date.init
    /// The sets read so far, by model-sync manifest digest, and by channel.
    private var sets: [Digest: OCISetMapping.ReadSet] = [:]
    private var channels: [String: OCISetMapping.ReadSet] = [:]
    /// Manifest bytes fetched so far: the pull reads them before the store lock and again under it, where no
    /// request may wait on the network.
    private var manifestCache: [Digest: [UInt8]] = [:]
    /// Blobs downloaded and verified before the store lock (``stageBlobs(of:lacking:into:progress:)``), by digest.
    private let staged = StagedBlobs()

    /// A registry over `repository`, named `name` (`ghcr.io/org/models`) in messages.
    public init(repository: any OCIRepository, name: String) {
        self.repository = repository
        self.name = name
    }

    /// The tag naming a published set by its model-sync manifest digest: `sha256-<hex>`.
    public static func digestTag(_ digest: Digest) -> String { OCIConfig.digestTagPrefix + digest.hex }

    /// The manifest digest a digest tag names, nil for other tags.
    public static func digest(ofTag tag: String) -> Digest? {
        guard tag.hasPrefix(OCIConfig.digestTagPrefix) else { return nil }
        return try? Digest(parsing: Digest.prefix + tag.dropFirst(OCIConfig.digestTagPrefix.count))
    }

    /// The image manifest `reference` (a tag) names and the set it describes; nil when the tag does not exist.
    func readSet(_ reference: String) throws -> (stored: OCIStoredManifest, set: OCISetMapping.ReadSet)? {
        guard let stored = try repository.fetchManifest(reference) else { return nil }
        let set = try Self.decodeSet(stored, what: "\(name):\(reference)")
        sets[set.digest] = set
        return (stored, set)
    }

    /// The set an image manifest describes; `what` names it in messages. Touches no state, so listings may
    /// decode on several threads.
    static func decodeSet(_ stored: OCIStoredManifest, what: String) throws(IntegrityError) -> OCISetMapping.ReadSet {
        let image = try OCIImageManifest.decode(stored.bytes, mediaType: stored.mediaType, what: what)
        return try OCISetMapping.read(image, what: what)
    }

    /// The set of manifest `digest`: one read before, else the one its digest tag names.
    func set(_ digest: Digest) throws -> OCISetMapping.ReadSet {
        if let known = sets[digest] { return known }
        guard let set = try readSet(Self.digestTag(digest))?.set, set.digest == digest else {
            throw UsageError("manifest \(digest) is not published in \(name) (no tag \(Self.digestTag(digest)))",
                             hint: "`model-sync versions` lists the published sets")
        }
        return set
    }

    /// The sets published under digest tags, by manifest digest (tags of other forms are channels or foreign).
    public func publishedManifests() throws -> [Digest] {
        try repository.tags().compactMap(Self.digest(ofTag:))
    }

    /// Reads a signature layer of `set`, nil when it has none at `path`.
    func signatureBytes(_ path: String, of set: OCISetMapping.ReadSet?) throws -> [UInt8]? {
        guard let layer = set?.signatures[path] else { return nil }
        return try repository.blobBytes(layer.digest, maxBytes: OCISetMapping.maxSignatureBytes)
    }
}

extension OCIRegistry: TransferSource {
    /// The set the channel tag names; a usage error that heals by waiting when nothing was published there.
    public func channel(_ name: String) throws -> Digest {
        // Read once per registry value: a pull asks again under the store lock (`--manifest` holds the channel's).
        if let known = channels[name] { return known.digest }
        guard let set = try readSet(name)?.set else {
            throw UsageError("nothing is published on \(self.name):\(name) yet",
                             hint: "publish from the publisher (`model-sync publish`), or check oci.reference and oci.channel",
                             healsByWaiting: true)
        }
        channels[name] = set
        return set.digest
    }

    /// The config blob (capped at the manifest size limit), or the manifest built from an oras artifact's
    /// layers; a config manifest is checked against the layers, so `oras pull` gives the same folder.
    public func manifestBytes(_ digest: Digest) throws -> [UInt8] {
        if let cached = manifestCache[digest] { return cached }
        let set = try set(digest)
        if let built = set.built { return built.canonicalBytes }
        let bytes = try repository.blobBytes(digest, maxBytes: Int(set.configSize ?? UInt64(Manifest.maxEncodedBytes)))
        // An invalid manifest is the engine's to report; only a valid one is compared with the layers.
        if let manifest = try? Manifest.decode(bytes, expecting: digest) {
            try OCISetMapping.check(manifest, against: set, what: "\(name):\(Self.digestTag(digest))")
            manifestCache[digest] = bytes
        }
        return bytes
    }

    /// Asks the registry for every missing blob before any byte moves, so a set it cannot complete is refused
    /// with the store untouched.
    public func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws {
        // Staged blobs are verified already: no request for them under the store lock.
        let missing = missing.filter { staged[$0.digest] == nil }
        guard !missing.isEmpty else { return }
        let absent = try repository.missingBlobs(missing.map(\.digest))
        guard let first = missing.first(where: { absent.contains($0.digest) }) else { return }
        throw IntegrityError(.missingObject, "\(name) lacks blob \(first.digest) (\(first.path)) of manifest \(manifest.digest)"
                             + (absent.count > 1 ? ", and \(absent.count - 1) more" : ""),
                             hint: "publish the set again, or pull another one (`model-sync versions`)")
    }

    /// Takes the blobs staged before the store lock, and downloads any other in parallel (`oci.concurrency`),
    /// each hashed on the way into the store.
    public func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        for entry in entries {
            if let path = staged[entry.digest] { try sink.adopt(entry, verifiedFileAt: path) }
        }
        let remaining = entries.filter { staged[$0.digest] == nil }
        if !remaining.isEmpty { try repository.fetchBlobs(remaining, into: sink) }
    }

    /// Downloads the blobs of manifest `digest` that `lacking` says the store lacks into a store-shaped folder
    /// `makeStaging` makes (under `<store>/incoming/`), each verified on the way in — all before the store lock
    /// is taken, so a slow registry never blocks `rollback`. Checks availability first: a set the registry
    /// cannot complete is refused before any byte moves.
    public func stageBlobs(of digest: Digest, lacking: (Digest) -> Bool, into makeStaging: () throws -> String,
                           progress: ProgressHandler?) throws {
        let (manifest, missing) = try lackingEntries(of: digest, lacking: lacking)
        guard !missing.isEmpty else { return }
        try checkAvailable(missing, of: manifest)
        try staged.stage(missing, into: makeStaging, progress: progress, describe: { describe($0, entry: $1) }) { sink in
            try repository.fetchBlobs(missing, into: sink)
        }
    }

    /// After a failed ``stageBlobs(of:lacking:into:progress:)``: moves the blobs it had downloaded and
    /// verified into `store` and records them, so a retry fetches only the rest. Returns how many were kept.
    @discardableResult
    func keepStagedBlobs(in store: Store) throws -> Int { try staged.keep(in: store) }

    /// One blob through the same parallel path (the engine uses ``fetchBlobs(_:into:)``).
    public func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let bytes = try repository.blobBytes(entry.digest, maxBytes: Int(min(entry.size, UInt64(Int.max))))
        try bytes.withUnsafeBytes { try body($0) }
    }

    /// Names the registry, the blob and the file.
    public func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError {
        guard let entry else { return IntegrityError(failure.code, "\(name): \(failure.message)", hint: failure.hint) }
        return IntegrityError(failure.code, "\(name) blob \(entry.digest) (\(entry.path)): \(failure.message)", hint: failure.hint)
    }

    /// Verified blobs stay: the next pull need not fetch them again.
    public var keepsVerifiedBlobsOnFailure: Bool { true }

    /// The signature layers of the channel's set (its release) or of the manifest's set.
    public func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? {
        switch file {
        case .release(let channel): return try signatureBytes(file.relativePath, of: channels[channel])
        case .manifest(let digest): return try signatureBytes(file.relativePath, of: try? set(digest))
        }
    }

    /// `host/repository` and the signature file's path inside the set.
    public func signatureLocation(_ file: SignatureFile) -> String { "\(name) layer \(file.relativePath)" }
}

@available(*, unavailable)
extension OCIRegistry: Sendable {}

extension OCIRepository {
    /// Uploads `entries`, each found by `HEAD` first (present: not sent).
    @discardableResult
    public func uploadBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws -> OCIPushSummary {
        try uploadBlobs(entries, from: outgoing, checkPresence: true)
    }
}

extension OCIClient: OCIRepository {
    /// ``putBlobs(_:from:checkPresence:)``.
    @discardableResult
    public func uploadBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs, checkPresence: Bool) throws -> OCIPushSummary {
        try putBlobs(entries, from: outgoing, checkPresence: checkPresence)
    }

    /// ``OCIClientOptions/concurrency``.
    public var concurrency: Int { options.concurrency }

    /// ``manifest(_:)``.
    public func fetchManifest(_ reference: String) throws -> OCIStoredManifest? {
        try manifest(reference)
    }
}
