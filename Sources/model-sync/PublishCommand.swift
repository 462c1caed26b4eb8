import ArgumentParser
import ModelSyncKit

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Snapshot the models folder and push its manifest and missing blobs to the git registry.",
        discussion: """
            Runs publisher.train_command first when publisher.train_before_push is set (exit 8 if it fails), \
            imports the models folder into the store, fetches and fast-forwards repo_dir, commits the manifest, \
            the blobs the registry lacks and channels/latest, and pushes. A dirty repo_dir worktree is refused \
            (exit 2) unless --allow-dirty. A rejected push (another publisher was first) is rebuilt and retried \
            once; remote failures exit 4.

            Example: model-sync publish --config configs/bot.yaml
            """)

    @Flag(name: .customLong("no-train"), help: "Do not run publisher.train_command.")
    var noTrain = false

    @Flag(name: .customLong("allow-dirty"), help: "Publish even when repo_dir has local changes.")
    var allowDirty = false

    @Option(name: .customLong("message"), help: ArgumentHelp("The commit message's first line.", valueName: "text"))
    var message: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let result = try Publisher(workspace: workspace,
                                   options: .init(noTrain: noTrain, allowDirty: allowDirty, message: message))
            .publish(store: store, progress: output.progressHandler())
        let text: String
        switch result.result {
        case .published:
            text = "published \(result.manifest) in commit \(result.commit?.hex ?? "")\n"
                + "\(result.files) files, \(Output.bytes(result.bytes)); \(result.newObjects) new objects (\(Output.bytes(result.newBytes)))"
        case .upToDate:
            text = "up to date: the registry's latest manifest is \(result.manifest)"
        }
        output.result([
            "result": result.result.rawValue, "manifest": result.manifest, "commit": result.commit?.hex,
            "new_objects": result.newObjects, "new_bytes": result.newBytes, "files": result.files, "bytes": result.bytes,
        ], text: text)
    }
}
