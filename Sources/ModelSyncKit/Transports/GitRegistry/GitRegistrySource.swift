#if canImport(Glibc)
internal import Glibc
#endif

/// The git registry as a ``TransferSource``: a commit of the registry (fetched and fast-forwarded once, when
/// the source is made) whose `channels/<name>` names a manifest under `manifests/` and whose blobs sit under
/// `objects/`.
///
/// A registry file under `objects/` that is a Git LFS pointer naming the manifest entry's digest and size is
/// fetched from the remote's LFS server (endpoint derived from the remote, or `git.lfs_url`), N transfers at
/// a time; clients need no setting. Other files are the blobs themselves, read from git.
///
/// Confined to one task, like the ``GitRegistry`` it reads.
public final class GitRegistrySource: TransferSource {
    /// The registry read.
    public let registry: GitRegistry
    /// The commit every read comes from.
    public let commit: GitOID
    /// The blobs found to be LFS pointers by ``checkAvailable(_:of:)``.
    private var throughLFS: Set<Digest> = []
    /// The LFS client that checked them, kept for the download (it remembers the batch's actions).
    private var lfsClient: LFSClient?
    /// The blobs under `objects/` at ``commit``, read once (a pull checks availability before and under the
    /// store lock).
    private lazy var present: Result<[Digest: GitOID], any Error> = Result { try registry.objects(in: commit) }
    /// LFS objects already downloaded and verified into a private folder by ``stageLFSObjects(channel:lacking:into:progress:)``.
    private let staged = StagedBlobs()

    /// Fetches the registry and reads from its tip, following the remote's branch even when its history was
    /// rewritten. An empty registry (no branch yet) is a usage error (exit 2).
    public init(registry: GitRegistry) throws {
        guard let commit = try registry.synchronize(following: true) else {
            throw UsageError("the registry has no branch \(registry.branch) yet: nothing was published",
                             hint: "run `model-sync publish` on the publisher first", healsByWaiting: true)
        }
        self.registry = registry
        self.commit = commit
    }

    public func channel(_ name: String) throws -> Digest {
        guard let digest = try registry.channel(name, in: commit) else {
            throw UsageError("the registry's commit \(commit) has no \(registry.layout.channelPath(name))",
                             hint: "run `model-sync publish` on the publisher first", healsByWaiting: true)
        }
        return digest
    }

    public func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? {
        try registry.signatureBytes(file, in: commit)
    }

    public func signatureLocation(_ file: SignatureFile) -> String {
        "the registry's \(registry.layout.signaturePath(file)) (commit \(commit))"
    }

    public func manifestBytes(_ digest: Digest) throws -> [UInt8] {
        try registry.manifestBytes(digest, in: commit)
    }

    /// Every missing blob must be a file of the commit's tree; checked before any blob is read. Files that
    /// are LFS pointers must name the entry's digest and size, and the LFS server must offer every object
    /// (one download batch call), so a set that cannot be completed is refused before anything is written.
    public func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws {
        let missing = missing.filter { staged[$0.digest] == nil }
        guard !missing.isEmpty else { return }
        let present = try present.get()
        if let absent = missing.first(where: { present[$0.digest] == nil }) {
            throw IntegrityError(.missingObject, "the registry's commit \(commit) has no "
                                 + "\(registry.layout.objectPath(absent.digest)) (\(absent.path))",
                                 hint: "the publisher did not push it, or `gc --registry` removed it")
        }
        var pointed: [ManifestEntry] = []
        for entry in missing where try registry.blobKind(of: entry, oid: present[entry.digest]!, in: commit) == .lfs {
            pointed.append(entry)
        }
        throughLFS.formUnion(pointed.map(\.digest))
        guard !pointed.isEmpty else { return }
        guard let client = try registry.lfsClient(for: .download) else {
            let url = (try? registry.repository.remoteURL(named: registry.remoteName)) ?? registry.remoteName
            throw UsageError("the registry holds Git LFS pointers (\(registry.layout.objectPath(pointed[0].digest)), "
                             + "\(pointed.count) in all) but its remote \(HTTPError.redact(url)) has no Git LFS endpoint",
                             hint: "set model_sync.git.lfs_url to the LFS server the publisher uploads to")
        }
        try client.checkDownloadable(pointed.map { LFSObject(oid: $0.digest, size: $0.size) })
        lfsClient = client
    }

    /// Blobs held in git, one after another, and LFS objects staged before the lock (linked into the store,
    /// or copied where the filesystem cannot link); then the other LFS objects, N at a time, through the
    /// LFS client.
    public func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        for entry in entries where !throughLFS.contains(entry.digest) || staged[entry.digest] != nil {
            if let path = staged[entry.digest] {
                try sink.adopt(entry, verifiedFileAt: path)
                continue
            }
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
        let pointed = entries.filter { throughLFS.contains($0.digest) && staged[$0.digest] == nil }
        guard !pointed.isEmpty, let lfsClient else { return }
        try lfsClient.download(pointed, into: sink)
    }

    /// Before the store lock is taken: reads manifest `digest` (validated) and downloads the LFS objects it
    /// needs and `lacking` says the store lacks into a private folder (`makeStaging()`, made only when there
    /// is something to download), each verified on the way in. The pull under the lock then links them from
    /// there, so a slow LFS server never holds the store lock, as a slow git fetch does not.
    func stageLFSObjects(manifest digest: Digest, lacking: (Digest) -> Bool, into makeStaging: () throws -> String,
                         progress: ProgressHandler?) throws {
        let (manifest, missing) = try lackingEntries(of: digest, lacking: lacking)
        try checkAvailable(missing, of: manifest)
        let pointed = missing.filter { throughLFS.contains($0.digest) }
        guard !pointed.isEmpty, let lfsClient else { return }
        // Against every byte the pull brings (blobs held in git too), as the engine will count them.
        try staged.stage(pointed, total: missing.reduce(0) { $0 + $1.size }, into: makeStaging, progress: progress,
                         describe: { describe($0, entry: $1) }) { sink in
            try lfsClient.download(pointed, into: sink)
        }
    }

    /// After a failed ``stageLFSObjects(manifest:lacking:into:progress:)``: moves the objects it had
    /// downloaded and verified into `store` and records them, so a retry fetches only the rest. Returns how
    /// many were kept.
    @discardableResult
    func keepStagedObjects(in store: Store) throws -> Int { try staged.keep(in: store) }

    public func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try registry.readObject(entry.digest, in: commit, into: body)
    }

    public func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError {
        guard let entry else { return failure }
        if throughLFS.contains(entry.digest) {
            return IntegrityError(failure.code, "Git LFS object \(entry.digest) of registry pointer "
                                  + "\(registry.layout.objectPath(entry.digest)) (\(entry.path)): \(failure.message)",
                                  hint: failure.hint)
        }
        return IntegrityError(failure.code, "registry blob \(registry.layout.objectPath(entry.digest)) "
                              + "(\(entry.path)): \(failure.message)", hint: failure.hint)
    }

    /// Verified blobs stay: the next pull need not fetch them again.
    public var keepsVerifiedBlobsOnFailure: Bool { true }
}

@available(*, unavailable)
extension GitRegistrySource: Sendable {}
