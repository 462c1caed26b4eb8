import Foundation

/// `pull`: fetch the registry, read `channels/latest`, verify the manifest, stream only the missing blobs
/// into the store (each verified while it is written), then activate (DESIGN.md "Git registry").
public struct Puller {
    public let workspace: Workspace
    /// Activate even a manifest remembered as bad.
    public var force = false

    /// A puller for the workspace's configuration.
    public init(workspace: Workspace, force: Bool = false) {
        self.workspace = workspace
        self.force = force
    }

    /// Pulls and activates the registry's latest manifest. Throws `IntegrityError` (exit 3, nothing activated)
    /// when the manifest or a blob does not match its digest, `UsageError` for an empty registry, ``GitError``
    /// of category `.remote` when the fetch fails. Returns `up-to-date` without hashing anything when the
    /// latest manifest is the active one.
    public func pull(store: Store, progress: ProgressHandler? = nil) throws -> ActivationResult {
        let registry = try GitRegistry.open(config: workspace.config, environment: workspace.environment, worktree: false)
        guard let commit = try registry.synchronize() else {
            throw UsageError("the registry has no branch \(registry.branch) yet: nothing was published",
                             hint: "run `model-sync publish` on the publisher first")
        }
        guard let digest = try registry.latestManifest(in: commit) else {
            throw UsageError("the registry's commit \(commit) has no \(registry.layout.latestChannel)",
                             hint: "run `model-sync publish` on the publisher first")
        }
        let manifest = try registry.manifest(digest, in: commit)

        var missing: [ManifestEntry] = []
        var seen = Set<Digest>()
        for entry in manifest.files where !store.objects.contains(entry.digest) && seen.insert(entry.digest).inserted {
            missing.append(entry)
        }
        let total = missing.reduce(UInt64(0)) { $0 + $1.size }
        var completed: UInt64 = 0
        var insertions: [ObjectStore.Insertion] = []
        for entry in missing {
            let writer = try ObjectWriter(store: store.objects)
            do {
                try registry.readObject(entry.digest, in: commit) { chunk in
                    try writer.write(chunk)
                    completed += UInt64(chunk.count)
                    progress?(Progress(phase: "fetching", completed: completed, total: total))
                }
                insertions.append(try writer.commit(expected: entry.digest, expectedSize: entry.size))
            } catch {
                writer.abandon()
                // What was verified stays: a later pull need not fetch it again.
                try? store.recordObjects(insertions)
                if let integrity = error as? IntegrityError {
                    throw IntegrityError(integrity.code, "registry blob \(registry.layout.objectPath(entry.digest)) "
                                         + "(\(entry.path)): \(integrity.message)", hint: integrity.hint)
                }
                throw error
            }
        }
        try store.recordObjects(insertions)
        if !store.objects.contains(digest) { try store.recordManifest(manifest) }

        var result = try Generations(store: store, modelsDir: workspace.modelsDir)
            .activate(digest, options: workspace.activationOptions(force: force))
        result.fetchedObjects = insertions.filter(\.created).count
        result.fetchedBytes = insertions.filter(\.created).reduce(0) { $0 + $1.size }
        try store.record(StoreEvent(kind: .pull, generation: result.generation, manifest: digest,
                                    reason: "\(result.result.rawValue) from commit \(commit), "
                                        + "\(result.fetchedObjects) objects fetched"))
        return result
    }
}
