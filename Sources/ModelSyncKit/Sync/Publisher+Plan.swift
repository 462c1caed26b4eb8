import Foundation

extension Publisher {
    /// What `publish` would upload, found without training, committing or pushing (`publish --dry-run`).
    public struct Plan: Sendable, Equatable {
        /// The manifest the models folder makes now.
        public let manifest: Digest
        /// Files and bytes of the whole set.
        public let files: Int
        public let bytes: UInt64
        /// Blobs the registry lacks and their bytes: what a publish would send (with Git LFS, at most that:
        /// the server may hold some already).
        public let newObjects: Int
        public let newBytes: UInt64
        /// True when the channel names another manifest (or none): a publish would move it.
        public let wouldPublish: Bool
        /// Files left out of the set (secrets, `.modelsyncignore`).
        public let excluded: [ModelSetExclusion]
    }

    /// Imports the models folder into the store (the first step of any publish: nothing is trained) and
    /// compares it with the registry's current state; nothing is committed, uploaded or pushed.
    public func plan(progress: ProgressHandler? = nil) throws -> Plan {
        if workspace.config.oci.isEnabled { return try planOCI(progress: progress) }
        return try workspace.holdingRegistryLock {
            // A key that a real publish could not read fails the dry run too.
            _ = try workspace.releaseSigner()
            let config = workspace.config
            let registry = try GitRegistry.open(config: config, environment: workspace.environment)
            let (imported, manifest) = try snapshot(progress: progress)
            let session = try GitRegistryDestination(registry: registry, author: registry.author(config: config))
                .beginPublish()
            let missing = try TransferEngine.blobsToSend(manifest, session: session)
            return Plan(manifest: manifest.digest, files: imported.files, bytes: imported.bytes, newObjects: missing.count,
                        newBytes: missing.reduce(0) { $0 + $1.size },
                        wouldPublish: try session.channel(RegistryLayout.latest) != manifest.digest,
                        excluded: imported.excluded)
        }
    }
}
