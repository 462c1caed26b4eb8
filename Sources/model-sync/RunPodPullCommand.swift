import ArgumentParser
import ModelSyncKit

struct RunPodPullCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "runpod-pull",
        abstract: "Trigger the RunPod job, poll it, download its archive, verify it and activate the models.",
        discussion: """
            Sends the digests this store already has, so the job packs only the missing blobs. The API key \
            is read from the variable runpod.api_key_env names (environment or .env) and sent only to the \
            trigger, status and cancel URLs. Exit 4 when the job fails, is cancelled or times out; exit 3 when \
            the archive does not verify (the active set is unchanged).

            Example: model-sync runpod-pull --config configs/bot.yaml
            """)

    @Option(name: .customLong("from-archive"), help: ArgumentHelp(
        "Import and activate this archive (delta or legacy) instead of running the job.", valueName: "file"))
    var fromArchive: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        var puller = RunPodPuller(workspace: workspace)
        if !global.quiet { puller.note = { line in output.note(line) } }
        let result = try fromArchive.map { try puller.pull(fromArchive: $0, progress: output.progressHandler()) }
            ?? puller.pull(progress: output.progressHandler())
        try ActivateCommand.finish(result, output: output)
    }
}
