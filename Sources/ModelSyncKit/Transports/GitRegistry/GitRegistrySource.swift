/// The git registry as a ``TransferSource``: a commit of the registry (fetched and fast-forwarded once, when
/// the source is made) whose `channels/<name>` names a manifest under `manifests/` and whose blobs sit under
/// `objects/`.
///
/// Confined to one task, like the ``GitRegistry`` it reads.
public final class GitRegistrySource: TransferSource {
    /// The registry read.
    public let registry: GitRegistry
    /// The commit every read comes from.
    public let commit: GitOID

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

    public func manifestBytes(_ digest: Digest) throws -> [UInt8] {
        try registry.manifestBytes(digest, in: commit)
    }

    /// Every missing blob must be a file of the commit's tree; checked before any blob is read.
    public func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws {
        guard !missing.isEmpty else { return }
        let present = try registry.objects(in: commit)
        if let absent = missing.first(where: { present[$0.digest] == nil }) {
            throw IntegrityError(.missingObject, "the registry's commit \(commit) has no "
                                 + "\(registry.layout.objectPath(absent.digest)) (\(absent.path))",
                                 hint: "the publisher did not push it, or `gc --registry` removed it")
        }
    }

    public func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try registry.readObject(entry.digest, in: commit, into: body)
    }

    public func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError {
        guard let entry else { return failure }
        return IntegrityError(failure.code, "registry blob \(registry.layout.objectPath(entry.digest)) "
                              + "(\(entry.path)): \(failure.message)", hint: failure.hint)
    }

    /// Verified blobs stay: the next pull need not fetch them again.
    public var keepsVerifiedBlobsOnFailure: Bool { true }
}

@available(*, unavailable)
extension GitRegistrySource: Sendable {}
