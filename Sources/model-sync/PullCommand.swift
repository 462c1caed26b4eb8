import ArgumentParser
import ModelSyncKit

struct PullCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch the registry's latest manifest and missing blobs, verify them, and activate the set.",
        discussion: """
            Fetches and fast-forwards repo_dir, reads channels/latest, checks the manifest against its digest, \
            streams only the blobs the store lacks (each hash verified before it enters the store) and \
            activates the set. Nothing new: up-to-date, nothing hashed. A manifest the user rolled back from, \
            or that failed its health check, is held back (exit 0, a warning) until another is published or \
            --force is given. Any mismatch exits 3 and activates nothing; remote failures exit 4; a failed \
            health check exits 6 with the previous set restored. A registry still in the old plain layout is \
            imported as a set. With oci.reference set, the set comes from that OCI registry: the channel tag \
            (oci.channel), only the blobs the store lacks, downloaded before the store lock.

            Examples:
              model-sync pull --config configs/bot.yaml
              model-sync pull --config configs/bot.yaml --dry-run      # behind? how much to fetch?
              model-sync pull --config configs/bot.yaml --manifest 3f2a9c   # a set `versions` lists
            """)

    @Flag(help: "Activate even a manifest that failed its health check before, or that is held back.")
    var force = false

    @Option(help: ArgumentHelp("Activate this published manifest instead of the channel's (a digest, or a unique "
                               + "prefix of at least 4 hex digits); the channel's set is then held back.",
                               valueName: "digest"))
    var manifest: String?

    @Flag(name: .customLong("dry-run"),
          help: "Say whether this machine is behind and how much a pull would fetch; change nothing.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let puller = Puller(workspace: workspace, force: force, manifest: manifest)
        if dryRun {
            let plan = try puller.plan()
            output.result(PullPlanOutput(plan), text: PullPlanOutput.text(plan))
            return
        }
        let result = try puller.pull(progress: output.progressHandler())
        try ActivateCommand.finish(result, output: output)
    }
}

/// `pull --dry-run --json` and `status --remote --json`'s `remote`.
struct PullPlanOutput: Encodable {
    let dryRun = true
    let behind: Bool
    let manifest: Digest
    @Nullable var active: Digest?
    @Nullable var heldBack: String?
    let fetchObjects: Int
    let fetchBytes: UInt64

    enum CodingKeys: String, CodingKey {
        case behind, manifest, active
        case dryRun = "dry_run"
        case heldBack = "held_back"
        case fetchObjects = "fetch_objects"
        case fetchBytes = "fetch_bytes"
    }

    init(_ plan: Puller.Plan) {
        behind = plan.behind
        manifest = plan.manifest
        active = plan.active
        heldBack = plan.heldBack
        fetchObjects = plan.fetchObjects
        fetchBytes = plan.fetchBytes
    }

    static func text(_ plan: Puller.Plan) -> String {
        if let reason = plan.heldBack { return "held back: \(plan.manifest) would not be activated, \(reason)" }
        guard plan.behind else { return "up to date: \(plan.manifest) is active" }
        return "behind: a pull would fetch \(plan.fetchObjects) objects (\(Output.bytes(plan.fetchBytes))) "
            + "and activate \(plan.manifest)"
    }
}
