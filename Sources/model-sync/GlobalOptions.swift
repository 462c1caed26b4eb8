import ArgumentParser
import ModelSyncKit

/// The options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("models-dir"), help: ArgumentHelp("The models folder bots read (default: model_sync.models_dir, else ./models).", valueName: "dir"))
    var modelsDir: String?

    @Option(name: .customLong("store"), help: ArgumentHelp("The store directory (default: .model-sync beside the models folder).", valueName: "dir"))
    var store: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("A YAML file with a model_sync: section.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("env-file"), help: ArgumentHelp("Read secrets from this .env file (default: ./.env when present).", valueName: "file"))
    var envFile: String?

    @Flag(name: .customLong("json"), help: "Print one JSON object on stdout and nothing else.")
    var json = false

    @Flag(name: [.short, .customLong("quiet")], help: "Print only errors.")
    var quiet = false

    @Flag(name: [.short, .customLong("verbose")], help: "Print more detail.")
    var verbose = false

    func workspace() throws -> Workspace {
        try Workspace.resolve(configPath: config, modelsDir: modelsDir, storeDir: store, envFile: envFile)
    }

    func output() -> Output { Output(json: json, quiet: quiet, verbose: verbose) }
}

/// A subcommand that takes the options every command takes. Once the arguments are parsed, `main` reads
/// `--json` from the parsed command through this, so a failure prints its error object only when `--json`
/// really was given as the flag (never when `--json` was another option's value).
protocol GlobalOptionsCommand: ParsableCommand {
    var global: GlobalOptions { get }
}
