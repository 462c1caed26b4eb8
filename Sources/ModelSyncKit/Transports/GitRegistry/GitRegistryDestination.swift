/// The git registry as a ``TransferDestination``: each publish attempt is one commit on the registry's tip
/// holding the missing blobs (as stored-block loose objects), the manifest and the channel file, pushed so
/// that the remote's branch moves only if nobody else pushed first.
///
/// With Git LFS (`git.lfs`), the missing blobs are uploaded to the remote's LFS server instead (it is asked
/// which it lacks, N transfers at a time) and the commit holds LFS pointer files and the `.gitattributes`
/// git-lfs writes, so the push stays a few KB.
///
/// Confined to one task, like the ``GitRegistry`` it writes.
public final class GitRegistryDestination: TransferDestination {
    /// The registry written.
    public let registry: GitRegistry
    /// The commits' author.
    public let author: GitSignature
    /// The commit message's first line; nil: `publish <digest>`.
    public let title: String?

    /// A destination committing as `author`, with `title` as the message's first line when given.
    public init(registry: GitRegistry, author: GitSignature, title: String? = nil) {
        self.registry = registry
        self.author = author
        self.title = title
    }

    /// The LFS client uploads go through, decided once (``GitRegistry/publishingLFSClient()`` probes the server).
    private var lfsDecision: LFSClient??

    public func beginPublish() throws -> any PublishSession {
        let base = try registry.synchronize()
        let lfs = try lfsClient()
        registry.publishingThroughLFS = lfs != nil
        return Session(registry: registry, base: base, author: author, title: title, lfs: lfs)
    }

    /// The LFS client blobs go through, nil when they go into the git repository; decided on the first call
    /// (here or in ``beginPublish()``), so a publish may ask before its import to upload large objects early.
    public func lfsClient() throws -> LFSClient? {
        if lfsDecision == nil { lfsDecision = .some(try registry.publishingLFSClient()) }
        return lfsDecision ?? nil
    }

    /// Whether this destination uploads blobs through Git LFS (after the first ``beginPublish()``).
    public var publishesThroughLFS: Bool { (lfsDecision ?? nil) != nil }

    public func lostRace(_ last: any Error) -> any Error { registry.lostRace(last) }

    /// One attempt: the tree changes gathered on top of `base`.
    final class Session: PublishSession {
        let registry: GitRegistry
        let base: GitOID?
        let author: GitSignature
        let title: String?
        /// The LFS server the blobs go to; nil: into the git repository.
        let lfs: LFSClient?
        private var changes: [GitTreeChange] = []
        private lazy var present: Result<[Digest: GitOID], any Error> = Result { try registry.objects(in: base) }

        init(registry: GitRegistry, base: GitOID?, author: GitSignature, title: String?, lfs: LFSClient?) {
            self.registry = registry
            self.base = base
            self.author = author
            self.title = title
            self.lfs = lfs
        }

        func channel(_ name: String) throws -> Digest? {
            guard let base else { return nil }
            return try registry.channel(name, in: base)
        }

        func hasManifest(_ digest: Digest) throws -> Bool {
            guard let base else { return false }
            return try registry.repository.entry(atPath: registry.layout.manifestPath(digest), inCommit: base) != nil
        }

        func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> {
            let present = try present.get()
            return Set(digests.filter { present[$0] == nil })
        }

        func putBlob(_ blob: OutgoingBlob) throws {
            let oid = try registry.repository.writeStoredBlob(fromFileAt: blob.path)
            changes.append(.upsert(path: registry.layout.objectPath(blob.digest), blob: oid))
        }

        /// Through LFS: uploads what the server lacks (N at a time, each re-hashed just before it leaves), then
        /// adds a pointer file per blob and the `.gitattributes` line. Without: one stored blob after another.
        func putBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws {
            guard let lfs else {
                for entry in entries {
                    try putBlob(try outgoing.verified(entry))
                    outgoing.sent(Int64(entry.size))
                }
                return
            }
            // An empty file stays an empty blob, as git-lfs leaves it: no server stores the empty object.
            let (empty, pointed) = (entries.filter { $0.size == 0 }, entries.filter { $0.size > 0 })
            for entry in empty { try putBlob(try outgoing.verified(entry)) }
            guard !pointed.isEmpty else { return }
            try lfs.upload(pointed, from: outgoing)
            for entry in pointed {
                let pointer = LFSPointer.text(for: LFSObject(oid: entry.digest, size: entry.size))
                let oid = try registry.repository.createBlob(bytes: pointer)
                changes.append(.upsert(path: registry.layout.objectPath(entry.digest), blob: oid))
            }
            if let attributes = try registry.lfsAttributesChange(onto: base) { changes.append(attributes) }
        }

        func putManifest(_ manifest: Manifest) throws {
            let oid = try registry.repository.createBlob(bytes: manifest.canonicalBytes)
            changes.append(.upsert(path: registry.layout.manifestPath(manifest.digest), blob: oid))
        }

        func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? {
            guard let base else { return nil }
            return try registry.signatureBytes(file, in: base)
        }

        func putSignature(_ file: SignatureFile, bytes: [UInt8]) throws {
            let oid = try registry.repository.createBlob(bytes: bytes)
            changes.append(.upsert(path: registry.layout.signaturePath(file), blob: oid))
        }

        func moveChannel(_ name: String, to digest: Digest, expecting expected: Digest?,
                         summary: PublishSummary) throws -> ChannelUpdate {
            // The base commit is what `expected` was read from: a push refused as non-fast-forward is exactly a
            // channel (or anything else) moved since.
            let oid = try registry.repository.createBlob(bytes: RegistryLayout.channelText(digest))
            changes.append(.upsert(path: registry.layout.channelPath(name), blob: oid))
            // A registry still in the old script's layout is converted by the same commit: its plain files go
            // (their bytes are under objects/ now) and a README says what the repository has become.
            let conversion = try LegacyLayout(layout: registry.layout).conversion(of: registry, in: base)
            switch try registry.pushCommit(changes + conversion, onto: base, message: message(summary), author: author) {
            case .pushed(let commit): return .moved(receipt: commit.hex)
            case .rejected(let error): return .conflict(error)
            }
        }

        private func message(_ summary: PublishSummary) -> String {
            "\(title ?? "publish \(summary.manifest)")\n\nmanifest: \(summary.manifest)\n"
                + "files: \(summary.files), bytes: \(summary.bytes)\n"
                + "new objects: \(summary.newObjects), new bytes: \(summary.newBytes)\n"
        }
    }
}

@available(*, unavailable)
extension GitRegistryDestination: Sendable {}
