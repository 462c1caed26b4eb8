import Foundation

extension Puller {
    /// `pull` from an OCI registry (`oci.reference`): the channel tag's set (or the one `--manifest` names by
    /// its digest tag), signatures checked, the missing blobs downloaded and verified into a folder of this
    /// process's own under `<store>/incoming/` — all before the store lock, which is taken only to store the
    /// blobs and activate. The caller holds `<store>/registry.lock`, so two pulls never stage at once.
    func pullFromOCI(progress: ProgressHandler?) throws -> ActivationResult {
        let registry = try workspace.ociRegistry()
        let channel = workspace.config.oci.channel
        let target = try resolveTarget(in: registry)
        let signers = try checkSignatures(target, in: registry, channel: channel, record: true)
        if manifest == nil, let held = try heldBack(target) { return held }
        // Staged, then stored: one `fetching` phase for the user, not two.
        let progress = FetchingPhase.monotonic(progress)
        var incoming: IncomingFolder?
        defer { incoming?.remove() }
        let storeDir = FileSystem.absolute(workspace.storeDir)
        let objects = ObjectStore(layout: StoreLayout(root: storeDir))
        do {
            try registry.stageBlobs(of: target, lacking: { !objects.contains($0) }, into: {
                let made = try IncomingFolders(storeRoot: storeDir).make()
                incoming = made
                return made.path
            }, progress: progress)
        } catch {
            // What was downloaded and verified before the failure is kept: a retry fetches only the rest.
            // Best effort: the download's error is the one to report.
            if let store = try? workspace.openStore() { _ = try? registry.keepStagedBlobs(in: store) }
            throw error
        }
        return try pull(target, from: registry, channel: channel, origin: "\(registry.name):\(channel)",
                        into: workspace.openStore(), signers: signers, progress: progress)
    }

    /// The channel tag's set, or the published set `--manifest` names (a digest or a unique prefix, among
    /// the registry's `sha256-<hex>` tags).
    func resolveTarget(in registry: OCIRegistry) throws -> Digest {
        guard let reference = manifest else { return try registry.channel(workspace.config.oci.channel) }
        return try PublishedManifestReference(reference).resolve(in: registry.publishedManifests())
    }
}
