import Foundation

/// `publish`: (train,) snapshot `models_dir` into the store, and push the manifest with only the blobs the
/// registry lacks, plus the `channels/latest` change, as one commit (DESIGN.md "Git registry").
public struct Publisher {
    /// What the command line may change.
    public struct Options: Sendable {
        /// Skip `publisher.train_command` even when `train_before_push` is set (`--no-train`).
        public var noTrain = false
        /// Publish from a worktree with local changes (`--allow-dirty`, or `allow_dirty`).
        public var allowDirty = false
        /// The commit message's first line (`--message`); default `publish <digest>`.
        public var message: String?

        /// The defaults.
        public init(noTrain: Bool = false, allowDirty: Bool = false, message: String? = nil) {
            self.noTrain = noTrain
            self.allowDirty = allowDirty
            self.message = message
        }
    }

    /// The outcome, as `publish --json` prints it.
    public struct Result: Sendable, Equatable {
        /// `published`, or `up-to-date` when the registry's latest manifest is this one already (no commit).
        public enum Outcome: String, Sendable { case published, upToDate = "up-to-date" }
        /// What happened.
        public let result: Outcome
        /// The manifest published.
        public let manifest: Digest
        /// The commit pushed, nil when up to date.
        public let commit: GitOID?
        /// Blobs added to the registry (the manifest and channel files are not counted).
        public let newObjects: Int
        /// Their bytes.
        public let newBytes: UInt64
        /// Files and bytes of the whole set.
        public let files: Int
        public let bytes: UInt64
        /// Files of the models folder left out of the set (secrets, `.modelsyncignore`).
        public var excluded: [ModelSetExclusion] = []
        /// The release signed with this publish (`signing.key_file`), and the key that signed it.
        public var release: ReleaseStatement?
        public var keyID: String?
        /// With an OCI registry: the image manifest the channel tag now names (nil when up to date), and where.
        public var imageManifest: Digest?
        public var location: String?
    }

    public let workspace: Workspace
    public let options: Options
    /// Runs between building the commit and pushing it (tests: a rival publisher pushes first).
    var beforePush: (() throws -> Void)?
    /// Runs when the import has stored every file, the store lock still held (tests: early uploads are under
    /// way before the import returns).
    var afterImport: (() throws -> Void)?

    /// A publisher for the workspace's configuration.
    public init(workspace: Workspace, options: Options = Options()) {
        self.workspace = workspace
        self.options = options
    }

    /// Publishes the models folder. Throws `UsageError` for a dirty worktree (exit 2), `CommandFailedError`
    /// when training fails (exit 8, nothing published), ``GitError`` of category `.remote` when the remote
    /// fails or another publisher won twice (exit 4), `BusyError` (exit 5) when a lock stays taken past
    /// `lock_timeout_sec`.
    ///
    /// The store lock is held only to snapshot the folder and to record the event: training (often an hour)
    /// and the registry's network work run without it, so `rollback`, `import` or a pull on the same store are
    /// never blocked by a publish. `repo_dir` is guarded by `<store>/registry.lock` throughout, as for `pull`.
    /// The blobs being uploaded stay in the store meanwhile: `gc` keeps what was imported within
    /// `gc.grace_sec`, and a blob removed anyway fails the publish (exit 3) before the channel moves.
    public func publish(progress: ProgressHandler? = nil) throws -> Result {
        try workspace.holdingRegistryLock {
            workspace.config.oci.isEnabled ? try publishToOCI(progress: progress) : try publishHoldingRegistry(progress: progress)
        }
    }

    private func publishHoldingRegistry(progress: ProgressHandler?) throws -> Result {
        let config = workspace.config
        let registry = try GitRegistry.open(config: config, environment: workspace.environment)
        registry.beforePush = beforePush
        if !(options.allowDirty || config.allowDirty) { try registry.requireCleanWorktree() }
        // Read before training: a missing key must not cost an hour of training first.
        let signer = try workspace.releaseSigner()
        try train()
        let destination = GitRegistryDestination(registry: registry, author: registry.author(config: config),
                                                 title: options.message)
        // Through Git LFS, the large objects start uploading while the import hashes the rest (``EarlyUploads``).
        let early = try destination.lfsClient().map { earlyUploads(through: $0) }
        let (imported, manifest) = try snapshot(progress: progress, early: early)
        let published = try TransferEngine(store: workspace.openStoreForReading(), progress: progress)
            .publish(manifest, to: destination, channel: RegistryLayout.latest, signer: signer,
                     freshObjects: Set(imported.createdObjects))
        guard let receipt = published.receipt, let commit = GitOID(hex: receipt) else {
            // Up to date, yet an LFS server that had lost objects the tree points at got them back early.
            return Result(result: .upToDate, manifest: manifest.digest, commit: nil, newObjects: early?.sent.objects ?? 0,
                          newBytes: early?.sent.bytes ?? 0, files: imported.files, bytes: imported.bytes,
                          excluded: imported.excluded)
        }
        let signed = published.release.map { ", signed release \($0.sequence) by \(signer!.key.publicKey.keyID)" } ?? ""
        try workspace.openStore().recordCompleted(StoreEvent(
            kind: .publish, manifest: manifest.digest, reason: "commit \(commit) to \(registry.remoteName)/\(registry.branch)\(signed)"))
        // Unlike an OCI publish's, the engine's count holds the early uploads already: the commit adds a pointer
        // for each blob the tree lacked, wherever its bytes went, so each is counted once, as for OCI.
        var result = Result(result: .published, manifest: manifest.digest, commit: commit, newObjects: published.newObjects,
                            newBytes: published.newBytes, files: imported.files, bytes: imported.bytes,
                            excluded: imported.excluded)
        result.release = published.release
        result.keyID = signer?.key.publicKey.keyID
        return result
    }

    /// Uploads through `lfs` of the import's large objects while it hashes the rest: one batch call each, so an
    /// object the server holds already is not sent, and not counted.
    private func earlyUploads(through lfs: LFSClient) -> EarlyUploads {
        EarlyUploads.fromStore(workspace.storeDir, concurrency: lfs.concurrency) { entry, outgoing in
            try lfs.upload([entry], from: outgoing).objects == 1
        }
    }

    /// Imports the models folder under the store lock, released when this returns.
    /// With `early`, the large objects the import creates start uploading as soon as each is stored; this
    /// waits for those uploads after the lock is released.
    func snapshot(progress: ProgressHandler?, early: EarlyUploads? = nil) throws -> (ImportResult, Manifest) {
        // The uploads are waited for only once the store (and its lock) is released, on failure too.
        defer { early?.finish() }
        var announce: (@Sendable (ManifestEntry) -> Void)?
        if let early { announce = { early.announce($0) } }
        return try importHoldingStore(progress: progress, stored: announce)
    }

    /// The import itself, the store lock held until it returns.
    private func importHoldingStore(progress: ProgressHandler?, stored: (@Sendable (ManifestEntry) -> Void)?) throws
        -> (ImportResult, Manifest) {
        let store = try workspace.openStore()
        let imported = try store.importDirectory(workspace.modelsDir, filtered: true, progress: progress, stored: stored)
        try afterImport?()
        return (imported, try store.manifest(imported.manifest))
    }

    /// Runs `publisher.train_command` when `train_before_push` is set and `--no-train` is not given; a failure
    /// stops the publish before anything is imported (exit 8).
    func train() throws {
        let config = workspace.config
        guard config.publisher.trainBeforePush && !options.noTrain else { return }
        let command = try config.requireTrainCommand()
        // Only `{models_dir}` is known before the snapshot; the secrets follow CommandSettings' rule.
        let filled = ShellCommand.filling(command, with: ["models_dir": workspace.modelsDir])
        let outcome = try ShellCommand(filled.command, environment: ["MODEL_SYNC_MODELS_DIR": workspace.modelsDir],
                                       timeout: config.publisher.trainTimeoutSec, name: "publisher.train_command",
                                       settings: workspace.commands).run()
        guard outcome == .exited(0) else {
            throw CommandFailedError(what: "publisher.train_command", command: command, outcome: outcome)
        }
    }
}
