import ArgumentParser
import ModelSyncKit

struct PullCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch the registry's latest manifest and missing blobs, verify them, and activate the set.",
        discussion: """
            Fetches and fast-forwards repo_dir, reads channels/latest, checks the manifest against its digest, \
            streams only the blobs the store lacks (each hash verified before it enters the store) and \
            activates the set. Nothing new: up-to-date, nothing hashed. Any mismatch exits 3 and activates \
            nothing; remote failures exit 4; a failed health check exits 6 with the previous set restored.

            Example: model-sync pull --config configs/bot.yaml
            """)

    @Flag(help: "Activate even a manifest that failed its health check before.")
    var force = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let result = try Puller(workspace: workspace, force: force).pull(progress: output.progressHandler())
        try ActivateCommand.finish(result, output: output)
    }
}
