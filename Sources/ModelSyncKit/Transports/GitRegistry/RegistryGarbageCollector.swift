import Foundation

/// What `gc --registry` removed from (or, in a dry run, would remove from) the registry's tree.
public struct RegistryGCReport: Sendable, Equatable {
    /// True when nothing was committed.
    public let dryRun: Bool
    /// The manifests kept: the last `keep_manifests` distinct values of `channels/latest`, newest first.
    public let keptManifests: [Digest]
    /// Manifest files removed from the tree.
    public let manifestsRemoved: [Digest]
    /// Blobs removed from the tree.
    public let objectsRemoved: [Digest]
    /// Their bytes.
    public let bytesFreed: UInt64
    /// Blobs left in the tree.
    public let objectsKept: Int
    /// The commit pushed; nil in a dry run or when nothing was to be removed.
    public let commit: GitOID?
}

extension GitRegistry {
    /// Removes from the registry tree, as one ordinary commit pushed like a publish, every blob that none of
    /// the last `keepManifests` manifests (the distinct values `channels/latest` took along the first-parent
    /// history, newest first) references, and the manifest files of older manifests. History still holds
    /// them: see docs/registry-layout.md for squashing it.
    public func collectGarbage(keepManifests: Int, author: GitSignature, dryRun: Bool) throws -> RegistryGCReport {
        if dryRun {
            return try planCollection(on: synchronize(), keepManifests: keepManifests).report
        }
        var report: RegistryGCReport?
        let commit = try commitAndPush(
            author: author,
            message: { _ in
                "gc: keep the last \(keepManifests) manifests\n\n"
                    + "removed \(report?.objectsRemoved.count ?? 0) objects (\(report?.bytesFreed ?? 0) bytes) "
                    + "and \(report?.manifestsRemoved.count ?? 0) manifests; kept \(report?.objectsKept ?? 0) objects\n"
            },
            changes: { base in
                let planned = try planCollection(on: base, keepManifests: keepManifests)
                report = planned.report
                return planned.changes.isEmpty ? nil : planned.changes
            })
        let final = report!
        return RegistryGCReport(dryRun: false, keptManifests: final.keptManifests, manifestsRemoved: final.manifestsRemoved,
                                objectsRemoved: final.objectsRemoved, bytesFreed: final.bytesFreed,
                                objectsKept: final.objectsKept, commit: commit)
    }

    /// The removals that keep the last `keepManifests` manifests of `base`, and the dry-run report of them.
    private func planCollection(on base: GitOID?, keepManifests: Int) throws -> (changes: [GitTreeChange], report: RegistryGCReport) {
        guard let base else {
            return ([], RegistryGCReport(dryRun: true, keptManifests: [], manifestsRemoved: [], objectsRemoved: [],
                                         bytesFreed: 0, objectsKept: 0, commit: nil))
        }
        let kept = try recentManifests(from: base, count: keepManifests)
        var referenced = Set<Digest>()
        for digest in kept { referenced.formUnion(try manifest(digest, in: base).files.map(\.digest)) }
        var changes: [GitTreeChange] = []
        var removedObjects: [Digest] = []
        var bytes: UInt64 = 0
        let present = try objects(in: base)
        for (digest, oid) in present.sorted(by: { $0.key < $1.key }) where !referenced.contains(digest) {
            removedObjects.append(digest)
            bytes += try repository.blobSize(oid)
            changes.append(.remove(path: layout.objectPath(digest)))
        }
        let removedManifests = try manifestFiles(in: base).filter { !kept.contains($0) }
        changes += removedManifests.map { .remove(path: layout.manifestPath($0)) }
        // A removed manifest's signature file goes with it (only where one exists: removing an absent path fails).
        for digest in removedManifests {
            let signature = layout.signaturePath(.manifest(digest))
            if try repository.entry(atPath: signature, inCommit: base) != nil { changes.append(.remove(path: signature)) }
        }
        return (changes, RegistryGCReport(dryRun: true, keptManifests: kept, manifestsRemoved: removedManifests,
                                          objectsRemoved: removedObjects, bytesFreed: bytes,
                                          objectsKept: present.count - removedObjects.count, commit: nil))
    }

    /// The last `count` distinct values `channels/latest` took along the first-parent history of `base`, newest
    /// first, that still have their manifest file at `base`.
    private func recentManifests(from base: GitOID, count: Int) throws -> [Digest] {
        var kept: [Digest] = []
        var cursor: GitOID? = base
        while let commit = cursor, kept.count < count {
            if let digest = try? latestManifest(in: commit), !kept.contains(digest),
               try repository.entry(atPath: layout.manifestPath(digest), inCommit: base) != nil {
                kept.append(digest)
            }
            cursor = try repository.commitSummary(commit).firstParent
        }
        return kept
    }

    /// The manifests whose files sit under `manifests/sha256/` at `commit`, in name order.
    private func manifestFiles(in commit: GitOID) throws -> [Digest] {
        try repository.blobs(under: layout.manifestsDirectory, inCommit: commit).keys.sorted().compactMap { name in
            guard name.hasSuffix(".json") else { return nil }
            return try? Digest(parsing: Digest.prefix + name.dropLast(5))
        }
    }

    /// `git.author_*`, else the repository's `user.name`/`user.email`, else a fixed identity.
    public func author(config: Config) -> GitSignature {
        let configured = repository.configuredSignature()
        return GitSignature(name: config.git.authorName ?? configured?.name ?? "model-sync",
                            email: config.git.authorEmail ?? configured?.email ?? "model-sync@localhost")
    }

    /// Throws the dirty-worktree refusal (exit 2) listing up to 10 paths, unless the worktree is clean.
    public func requireCleanWorktree() throws {
        let dirty = try dirtyPaths()
        guard !dirty.isEmpty else { return }
        let limit = 10
        let listed = dirty.prefix(limit).joined(separator: ", ")
        let more = dirty.count > limit ? " and \(dirty.count - limit) more" : ""
        throw UsageError("the registry worktree \(repository.path) has local changes: \(listed)\(more)",
                         hint: "commit or discard them, or pass --allow-dirty (allow_dirty: true)")
    }
}
