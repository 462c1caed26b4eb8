import ArgumentParser
import ModelSyncKit

struct PublishCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Snapshot the models folder and push its manifest and missing blobs to the git registry.",
        discussion: """
            Runs publisher.train_command first when publisher.train_before_push is set (exit 8 if it fails), \
            imports the models folder into the store, fetches and fast-forwards repo_dir, commits the manifest, \
            the blobs the registry lacks and channels/latest, and pushes. A dirty repo_dir worktree is refused \
            (exit 2) unless --allow-dirty. A rejected push (another publisher was first) is rebuilt and retried \
            once; remote failures exit 4. With oci.reference set, the set goes to that OCI registry instead: \
            the blobs it lacks, the config blob, the image manifest under its sha256-<hex> tag, then the \
            channel tag (oci.channel), moved last.

            Example: model-sync publish --config configs/bot.yaml
            """)

    @Flag(name: .customLong("no-train"), help: "Do not run publisher.train_command.")
    var noTrain = false

    @Flag(name: .customLong("allow-dirty"), help: "Publish even when repo_dir has local changes.")
    var allowDirty = false

    // Free text, taken whatever it looks like (as `git commit -m` does): `--message --json` is a message.
    @Option(name: .customLong("message"), parsing: .unconditional,
            help: ArgumentHelp("The commit message's first line.", valueName: "text"))
    var message: String?

    @Flag(name: .customLong("dry-run"),
          help: "Say what would be uploaded: imports the folder into the store, trains, commits and pushes nothing.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        if dryRun {
            let plan = try Publisher(workspace: workspace).plan(progress: output.progressHandler())
            output.excluded(plan.excluded)
            output.result(PublishPlanOutput(plan), text: plan.wouldPublish
                ? "would publish \(plan.manifest): \(plan.files) files, \(Output.bytes(plan.bytes)); "
                    + "\(plan.newObjects) objects to upload (\(Output.bytes(plan.newBytes)))"
                : "up to date: the registry's latest manifest is \(plan.manifest)")
            return
        }
        let result = try Publisher(workspace: workspace,
                                   options: .init(noTrain: noTrain, allowDirty: allowDirty, message: message))
            .publish(progress: output.progressHandler())
        output.excluded(result.excluded)
        let text: String
        switch result.result {
        case .published:
            let place = result.imageManifest.map { "to \(result.location ?? "") (image manifest \($0))" }
                ?? "in commit \(result.commit?.hex ?? "")"
            text = "published \(result.manifest) \(place)\n"
                + "\(result.files) files, \(Output.bytes(result.bytes)); \(result.newObjects) new objects (\(Output.bytes(result.newBytes)))"
        case .upToDate:
            text = "up to date: the registry's latest manifest is \(result.manifest)"
        }
        output.result(PublishOutput(result), text: text)
    }
}

/// `publish --json`.
struct PublishOutput: Encodable {
    let result: String
    let manifest: Digest
    /// The pushed commit's hex id, null when up to date.
    @Nullable var commit: String?
    /// With an OCI registry: the image manifest the channel tag names now, null when up to date (or git).
    @Nullable var imageManifest: Digest?
    let newObjects: Int
    let newBytes: UInt64
    let files: Int
    let bytes: UInt64
    /// Files left out of the set: `{path, pattern, secret}`.
    let excluded: [ModelSetExclusion]

    enum CodingKeys: String, CodingKey {
        case result, manifest, commit, files, bytes, excluded
        case newObjects = "new_objects"
        case newBytes = "new_bytes"
        case imageManifest = "image_manifest"
    }

    init(_ publish: Publisher.Result) {
        result = publish.result.rawValue
        manifest = publish.manifest
        commit = publish.commit?.hex
        imageManifest = publish.imageManifest
        newObjects = publish.newObjects
        newBytes = publish.newBytes
        files = publish.files
        bytes = publish.bytes
        excluded = publish.excluded
    }
}

/// `publish --dry-run --json`.
struct PublishPlanOutput: Encodable {
    let dryRun = true
    let wouldPublish: Bool
    let manifest: Digest
    let files: Int
    let bytes: UInt64
    let newObjects: Int
    let newBytes: UInt64
    let excluded: [ModelSetExclusion]

    enum CodingKeys: String, CodingKey {
        case manifest, files, bytes, excluded
        case dryRun = "dry_run"
        case wouldPublish = "would_publish"
        case newObjects = "new_objects"
        case newBytes = "new_bytes"
    }

    init(_ plan: Publisher.Plan) {
        wouldPublish = plan.wouldPublish
        manifest = plan.manifest
        files = plan.files
        bytes = plan.bytes
        newObjects = plan.newObjects
        newBytes = plan.newBytes
        excluded = plan.excluded
    }
}
