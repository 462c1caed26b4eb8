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
        let source = try GitRegistrySource(registry: registry)
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
