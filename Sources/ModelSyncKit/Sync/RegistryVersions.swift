import Foundation

/// `versions`: the sets published on the registry's channel, newest first — when, which manifest, how many
/// files and bytes, which commit — and which of them this machine runs or holds back.
///
/// Reads the registry as a pull does (fetched under `<store>/registry.lock`, following the remote's branch)
/// and the store without its lock; it changes nothing.
public struct RegistryVersions {
    /// One published set.
    public struct Version: Sendable, Equatable {
        /// When the channel moved to it (the commit's time).
        public let time: Date
        public let manifest: Digest
        /// Files and bytes, from the manifest as that commit holds it; nil when it cannot be read.
        public let files: Int?
        public let bytes: UInt64?
        /// The commit that moved the channel (git); nil for an OCI registry.
        public let commit: GitOID?
        /// The image manifest its digest tag names (OCI); nil for git.
        public var imageManifest: Digest?
        /// True for the set `models_dir` points at.
        public let active: Bool
        /// Why a pull would not activate it (rolled back from, failed its health check), or nil.
        public let heldBack: String?
    }

    public let workspace: Workspace

    /// A lister for the workspace's registry.
    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    /// The last `limit` sets published on `latest`, newest first.
    public func list(limit: Int) throws -> [Version] {
        if workspace.config.oci.isEnabled { return try listOCI(limit: limit) }
        let source = try workspace.fetchedRegistry()
        let registry = source.registry
        let changes = try registry.channelHistory(RegistryLayout.latest, from: source.commit, limit: limit)
        let generations = try workspace.existingStoreForReading().map { Generations(store: $0, modelsDir: workspace.modelsDir) }
        let active = try generations?.activeManifest()
        return try changes.map { change in
            let manifest = try? registry.manifest(change.manifest, in: change.commit)
            return Version(time: change.time, manifest: change.manifest, files: manifest?.files.count,
                           bytes: manifest?.totalBytes, commit: change.commit, active: change.manifest == active,
                           heldBack: try generations?.holdReason(change.manifest))
        }
    }

    /// The sets published under the OCI registry's digest tags, newest first by their `created` annotation.
    private func listOCI(limit: Int) throws -> [Version] {
        let sets = try workspace.ociRegistry().publishedSets(channel: workspace.config.oci.channel).prefix(limit)
        let generations = try workspace.existingStoreForReading().map { Generations(store: $0, modelsDir: workspace.modelsDir) }
        let active = try generations?.activeManifest()
        return try sets.map { set in
            var version = Version(time: set.created ?? Date(timeIntervalSince1970: 0), manifest: set.manifest,
                                  files: set.files, bytes: set.bytes, commit: nil, active: set.manifest == active,
                                  heldBack: try generations?.holdReason(set.manifest))
            version.imageManifest = set.imageManifest
            return version
        }
    }
}

extension Workspace {
    /// The registry fetched and fast-forwarded as a pull reads it (`<store>/registry.lock` held meanwhile, so
    /// two commands never fetch into `repo_dir` at once), at the remote branch's tip.
    public func fetchedRegistry() throws -> GitRegistrySource {
        try holdingRegistryLock { try openedRegistrySource() }
    }

    /// Opens `repo_dir` (bare when this side creates it: clients keep files in the store) and fetches it;
    /// the caller holds `<store>/registry.lock`.
    func openedRegistrySource() throws -> GitRegistrySource {
        try GitRegistrySource(registry: GitRegistry.open(config: config, environment: environment, worktree: false))
    }

    /// Runs `body` holding `<store>/registry.lock`, which guards `repo_dir` for pulls, publishes and
    /// cosigning (the store lock stays free meanwhile), waiting up to `lock_timeout_sec` for it.
    func holdingRegistryLock<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(storeDir)
        let registryLock = try StoreLock(path: FileSystem.absolute(storeDir) + "/registry.lock", timeout: config.lockTimeoutSec)
        return try withExtendedLifetime(registryLock) { try body() }
    }

    /// The store opened for reading without its lock, or nil when none exists yet.
    func existingStoreForReading() throws -> Store? {
        Store.exists(at: storeDir) ? try openStoreForReading() : nil
    }
}
