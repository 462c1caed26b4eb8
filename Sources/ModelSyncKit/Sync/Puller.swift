import Foundation

/// `pull`: fetch the registry, read `channels/latest` (or the manifest `--manifest` names), verify the
/// manifest, stream only the missing blobs into the store (each verified while it is written), then activate
/// (DESIGN.md "Git registry").
///
/// The fetch (the network wait) happens without the store lock, so a slow remote never blocks `rollback`:
/// `repo_dir` is guarded by a lock of its own (`<store>/registry.lock`, so two pulls never fetch into it at
/// once), and the store lock is taken only to copy the blobs from `repo_dir` into the store and activate.
public struct Puller {
    public let workspace: Workspace
    /// Activate even a manifest remembered as bad or held.
    public var force = false
    /// `--manifest`: a published manifest to activate instead of the channel's (a digest or a unique prefix
    /// of its hex).
    public var manifest: String?

    /// A puller for the workspace's configuration.
    public init(workspace: Workspace, force: Bool = false, manifest: String? = nil) {
        self.workspace = workspace
        self.force = force
        self.manifest = manifest
    }

    /// What a pull would do, found without changing anything (`pull --dry-run`, `status --remote`).
    public struct Plan: Sendable, Equatable {
        /// The manifest the pull would activate.
        public let manifest: Digest
        /// The manifest `models_dir` points at now, if any.
        public let active: Digest?
        /// Why the pull would leave the active set alone (held), or nil.
        public let heldBack: String?
        /// Distinct blobs it would fetch, and their bytes.
        public let fetchObjects: Int
        public let fetchBytes: UInt64
        /// True when the pull would change the active set.
        public var behind: Bool { heldBack == nil && manifest != active }
    }

    /// Pulls and activates the registry's latest manifest (or the one `manifest` names). Throws
    /// `IntegrityError` (exit 3, nothing activated) when the manifest or a blob does not match its digest,
    /// `UsageError` for an empty registry, ``GitError`` of category `.remote` when the fetch fails, `BusyError`
    /// (exit 5) when another command holds a lock past `lock_timeout_sec`. Returns `up-to-date` without hashing
    /// anything when the latest manifest is the active one, `held-back` when it is held.
    public func pull(progress: ProgressHandler? = nil) throws -> ActivationResult {
        try workspace.holdingRegistryLock {
            workspace.config.oci.isEnabled ? try pullFromOCI(progress: progress) : try pullHoldingRegistry(progress: progress)
        }
    }

    /// The pull, `<store>/registry.lock` held: fetch, checks and LFS downloads without the store lock, which
    /// is taken only to store the blobs and activate.
    private func pullHoldingRegistry(progress: ProgressHandler?) throws -> ActivationResult {
        let source = try workspace.openedRegistrySource()
        let legacy = try LegacyLayout(layout: source.registry.layout).files(of: source.registry, in: source.commit)
        if !legacy.isEmpty, manifest == nil, workspace.signaturePolicy != nil {
            throw IntegrityError(.missingSignature, "the registry is in the old unsigned layout, and signing.trusted_keys requires signatures",
                                 hint: "publish once with `model-sync publish` and signing.key_file set (docs/signing.md)")
        }
        if !legacy.isEmpty, manifest == nil {
            return try LegacyRegistryImport(workspace: workspace, force: force)
                .pull(legacy, from: source, into: workspace.openStore(), progress: progress)
        }
        let target = try resolveTarget(in: source)
        let signers = try checkSignatures(target, in: source, channel: RegistryLayout.latest, record: true)
        if manifest == nil, let held = try heldBack(target) { return held }
        // Staged, then stored: one `fetching` phase for the user, not two.
        let progress = FetchingPhase.monotonic(progress)
        // Git LFS objects are downloaded before the store lock too, into a folder of this process's own.
        var incoming: IncomingFolder?
        defer { incoming?.remove() }
        let objects = ObjectStore(layout: StoreLayout(root: FileSystem.absolute(workspace.storeDir)))
        do {
            try source.stageLFSObjects(manifest: target, lacking: { !objects.contains($0) }, into: {
                let made = try IncomingFolders(storeRoot: FileSystem.absolute(workspace.storeDir)).make()
                incoming = made
                return made.path
            }, progress: progress)
        } catch {
            // What was downloaded and verified before the failure is kept: a retry fetches only the rest.
            // Best effort: the download's error is the one to report.
            if let store = try? workspace.openStore() { _ = try? source.keepStagedObjects(in: store) }
            throw error
        }
        return try pull(target, from: source, channel: RegistryLayout.latest, origin: "commit \(source.commit)",
                        into: workspace.openStore(), signers: signers, progress: progress)
    }

    /// With `signing.trusted_keys` set, checks the signatures before anything is fetched (docs/signing.md):
    /// the channel's release and the manifest's signature, or with `--manifest` (an explicit choice of an
    /// older set) the manifest's signature alone. With `record`, the accepted release is remembered so a
    /// later rollback of the registry is refused. Returns the keys that signed the manifest, empty when
    /// signatures are not required.
    func checkSignatures(_ target: Digest, in source: any TransferSource, channel: String, record: Bool) throws -> [String] {
        guard let policy = workspace.signaturePolicy else { return [] }
        let verifier = SignatureVerifier(policy: policy)
        if manifest != nil { return try verifier.verifyManifest(target, from: source) }
        let accepted = workspace.acceptedReleases
        let release = try verifier.verifyRelease(channel, naming: target, from: source,
                                                 accepted: try accepted.entry(channel))
        if record { try accepted.record(release.statement, keyIDs: release.keyIDs) }
        return release.keyIDs
    }

    /// What `pull` would do now: the registry is fetched, the store only read.
    public func plan() throws -> Plan {
        if workspace.config.oci.isEnabled {
            let registry = try workspace.ociRegistry()
            let target = try resolveTarget(in: registry)
            _ = try checkSignatures(target, in: registry, channel: workspace.config.oci.channel, record: false)
            return try plan(target, manifest: TransferEngine.validatedManifest(target, from: registry))
        }
        let source = try workspace.fetchedRegistry()
        let target = try resolveTarget(in: source)
        _ = try checkSignatures(target, in: source, channel: RegistryLayout.latest, record: false)
        return try plan(target, manifest: TransferEngine.validatedManifest(target, from: source))
    }

    /// What pulling `manifest` (named `target`) would fetch into the store as it is.
    private func plan(_ target: Digest, manifest: Manifest) throws -> Plan {
        guard let store = try workspace.existingStoreForReading() else {
            let distinct = manifest.files.distinctByDigest()
            return Plan(manifest: target, active: nil, heldBack: nil, fetchObjects: distinct.count,
                        fetchBytes: distinct.reduce(0) { $0 + $1.size })
        }
        let generations = Generations(store: store, modelsDir: workspace.modelsDir)
        let active = try generations.activeManifest()
        let missing = TransferEngine(store: store).missingEntries(of: manifest)
        return Plan(manifest: target, active: active, heldBack: self.manifest == nil && !force ? try generations.holdReason(target) : nil,
                    fetchObjects: missing.count, fetchBytes: missing.reduce(0) { $0 + $1.size })
    }

    /// The manifest to pull: the channel's, or the published one `manifest` names.
    private func resolveTarget(in source: GitRegistrySource) throws -> Digest {
        guard let reference = manifest else { return try source.channel(RegistryLayout.latest) }
        return try PublishedManifestReference(reference).resolve(in: source.registry.publishedManifests(in: source.commit))
    }

    /// `held-back` when the channel names a manifest the user rolled back from or that failed its health
    /// check (and `--force` is not given): nothing is fetched, the active set stays.
    func heldBack(_ digest: Digest) throws -> ActivationResult? {
        guard !force, let store = try workspace.existingStoreForReading() else { return nil }
        let generations = Generations(store: store, modelsDir: workspace.modelsDir)
        guard let reason = try generations.holdReason(digest) else { return nil }
        return ActivationResult(result: .heldBack, generation: generations.activeNumber, manifest: digest,
                                previousGeneration: nil, reason: reason)
    }

    /// The part that needs the store lock: blobs from the fetched `repo_dir` into `store`, then activation.
    /// A manifest chosen with `--manifest` other than the channel's holds the channel's, so that the next
    /// pull (a daemon's) does not undo the choice.
    func pull(_ digest: Digest, from source: any TransferSource, channel: String, origin: String, into store: Store,
              signers: [String], progress: ProgressHandler?) throws -> ActivationResult {
        let engine = TransferEngine(store: store, progress: progress)
        let pulled = try engine.pull(try engine.fetchManifest(digest, from: source), from: source)
        let generations = Generations(store: store, modelsDir: workspace.modelsDir)
        var result = try generations.activate(digest, options: workspace.activationOptions(force: force))
        result.fetchedObjects = pulled.fetchedObjects
        result.fetchedBytes = pulled.fetchedBytes
        if manifest != nil, result.result == .activated, let latest = try? source.channel(channel), latest != digest {
            try generations.hold(latest, reason: "pull --manifest chose \(digest) at \(Date().rfc3339)")
        }
        try store.recordCompleted(StoreEvent(kind: .pull, generation: result.generation, manifest: digest,
                                    reason: "\(result.result.rawValue) from \(origin), "
                                        + "\(result.fetchedObjects) objects fetched"
                                        + (manifest != nil ? " (chosen with --manifest)" : "")
                                        + (signers.isEmpty ? "" : ", signed by \(signers.joined(separator: ", "))")))
        return result
    }
}
