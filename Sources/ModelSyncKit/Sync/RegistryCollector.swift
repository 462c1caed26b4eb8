/// `gc --registry`: removes from the git registry's tree the blobs that none of the last
/// `registry.keep_manifests` manifests references, as one ordinary commit pushed like a publish.
///
/// The policy (which registry, the dirty-worktree rule, how many manifests to keep, who commits) lives
/// here, so the command line only parses and prints.
public struct RegistryCollector {
    /// Where the command works.
    public let workspace: Workspace
    /// Work even when `repo_dir` has local changes (`--allow-dirty`, or `allow_dirty`).
    public var allowDirty: Bool

    /// A collector for the workspace's registry.
    public init(workspace: Workspace, allowDirty: Bool = false) {
        self.workspace = workspace
        self.allowDirty = allowDirty
    }

    /// Plans the removal (`dryRun`: nothing committed) or commits and pushes it. Throws `UsageError` for a
    /// dirty worktree (exit 2), ``GitError`` of category `.remote` when the push fails (exit 4).
    public func collect(dryRun: Bool) throws -> RegistryGCReport {
        let config = workspace.config
        if config.oci.isEnabled {
            // An OCI registry: the image manifests (and their tags) beyond keep_manifests go; the blobs stay
            // until the registry's own garbage collection, so none is counted here.
            let report = try workspace.ociRegistry().collectGarbage(keep: config.registry.keepManifests,
                                                                    channel: config.oci.channel, dryRun: dryRun)
            return RegistryGCReport(dryRun: dryRun, keptManifests: report.kept.map(\.manifest),
                                    manifestsRemoved: report.removed.map(\.manifest), objectsRemoved: [], bytesFreed: 0,
                                    objectsKept: 0, commit: nil)
        }
        let registry = try GitRegistry.open(config: config, environment: workspace.environment)
        if !(allowDirty || config.allowDirty) { try registry.requireCleanWorktree() }
        return try registry.collectGarbage(keepManifests: config.registry.keepManifests,
                                           author: registry.author(config: config), dryRun: dryRun)
    }
}
