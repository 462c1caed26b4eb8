import Foundation

/// `pull`: fetch the registry, read `channels/latest`, verify the manifest, stream only the missing blobs
/// into the store (each verified while it is written), then activate (DESIGN.md "Git registry").
///
/// The fetch (the network wait) happens without the store lock, so a slow remote never blocks `rollback`:
/// `repo_dir` is guarded by a lock of its own (`<store>/registry.lock`, so two pulls never fetch into it at
/// once), and the store lock is taken only to copy the blobs from `repo_dir` into the store and activate.
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
    /// of category `.remote` when the fetch fails, `BusyError` (exit 5) when another command holds a lock past
    /// `lock_timeout_sec`. Returns `up-to-date` without hashing anything when the latest manifest is the active one.
    public func pull(progress: ProgressHandler? = nil) throws -> ActivationResult {
        try FileSystem.makeDirectories(workspace.storeDir)
        let registryLock = try StoreLock(path: FileSystem.absolute(workspace.storeDir) + "/registry.lock",
                                         timeout: workspace.config.lockTimeoutSec)
        let source = try withExtendedLifetime(registryLock) { () throws -> GitRegistrySource in
            let registry = try GitRegistry.open(config: workspace.config, environment: workspace.environment, worktree: false)
            return try GitRegistrySource(registry: registry)
        }
        if let held = try heldBack(source) { return held }
        // Git LFS objects are downloaded before the store lock too, into a folder of this process's own.
        var incoming: IncomingDirectory?
        defer { incoming?.remove() }
        let objects = ObjectStore(layout: StoreLayout(root: FileSystem.absolute(workspace.storeDir)))
        try source.stageLFSObjects(channel: RegistryLayout.latest, lacking: { !objects.contains($0) }, into: {
            let made = try IncomingDirectory(storeDir: FileSystem.absolute(workspace.storeDir))
            incoming = made
            return made.path
        }, progress: progress)
        return try withExtendedLifetime(registryLock) {
            let store = try workspace.openStore()
            return try pull(from: source, into: store, progress: progress)
        }
    }

    /// `held-back` when the channel names a manifest the user rolled back from or that failed its health
    /// check (and `--force` is not given): nothing is fetched, the active set stays.
    private func heldBack(_ source: GitRegistrySource) throws -> ActivationResult? {
        guard !force, FileManager.default.fileExists(atPath: StoreLayout(root: FileSystem.absolute(workspace.storeDir)).indexPath)
        else { return nil }
        let digest = try source.channel(RegistryLayout.latest)
        let store = try workspace.openStoreForReading()
        let generations = Generations(store: store, modelsDir: workspace.modelsDir)
        guard let reason = try generations.holdReason(digest) else { return nil }
        return ActivationResult(result: .heldBack, generation: generations.activeNumber, manifest: digest,
                                previousGeneration: nil, reason: reason)
    }

    /// The part that needs the store lock: blobs from the fetched `repo_dir` into `store`, then activation.
    private func pull(from source: GitRegistrySource, into store: Store, progress: ProgressHandler?) throws -> ActivationResult {
        let pulled = try TransferEngine(store: store, progress: progress).pull(from: source, channel: RegistryLayout.latest)
        let digest = pulled.manifest.digest
        var result = try Generations(store: store, modelsDir: workspace.modelsDir)
            .activate(digest, options: workspace.activationOptions(force: force))
        result.fetchedObjects = pulled.fetchedObjects
        result.fetchedBytes = pulled.fetchedBytes
        try store.recordCompleted(StoreEvent(kind: .pull, generation: result.generation, manifest: digest,
                                    reason: "\(result.result.rawValue) from commit \(source.commit), "
                                        + "\(result.fetchedObjects) objects fetched"))
        return result
    }
}
