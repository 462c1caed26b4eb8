/// The `model_sync:` section of a configuration file, typed, with every default filled in.
///
/// `Config()` is the configuration of a file whose section is empty. Load one with
/// `Config.load(path:environment:)`; docs/configuration.md describes every key.
public struct Config: Sendable, Hashable {
    /// The file this configuration was loaded from, as given; nil for `Config()`.
    public var sourcePath: String?
    /// `models_dir`: the active model set's path (default `models`, resolved by the CLI).
    public var modelsDir: String?
    /// `store_dir`: the store's path (default `.model-sync` beside `models_dir`, resolved by the CLI).
    public var storeDir: String?
    /// `repo_dir`: the working clone of the git registry.
    public var repoDir: String?
    /// `repo_url`: where to clone `repo_dir` from when it does not exist yet.
    public var repoURL: String?
    /// `remote` ["origin"]: the registry remote to fetch from and push to.
    public var remote: String = "origin"
    /// `branch` ["main"]: the registry branch.
    public var branch: String = "main"
    /// `repo_models_subdir` ["models"]: the folder of the registry that holds manifests and objects.
    public var repoModelsSubdir: String = "models"
    /// `keep_generations` [3]: how many generations stay on disk for rollback (at least 1).
    public var keepGenerations: Int = 3
    /// `link_mode` [auto]: how generations are made from store objects.
    public var linkMode: LinkMode = .auto
    /// `lock_timeout_sec` [60]: how long to wait for the store lock.
    public var lockTimeoutSec: Double = 60
    /// `allow_dirty` [false]: publish even when the registry worktree has uncommitted changes.
    public var allowDirty: Bool = false
    /// `publisher`: the publisher role.
    public var publisher = PublisherConfig()
    /// `client` [schedule "06:00"]: the git client role.
    public var client = ScheduleConfig(schedule: "06:00")
    /// `runpod_client` [schedule "03:00"]: the RunPod client role.
    public var runpodClient = ScheduleConfig(schedule: "03:00")
    /// `runpod`: the RunPod endpoint.
    public var runpod = RunPodConfig()
    /// `registry`: the git registry's retention.
    public var registry = RegistryConfig()
    /// `gc`: garbage collection.
    public var gc = GCConfig()
    /// `signing`: the publisher's key and the keys clients trust (docs/signing.md).
    public var signing = SigningConfig()
    /// `activation`: health check and hook.
    public var activation = ActivationConfig()
    /// `git`: git credentials and identity.
    public var git = GitConfig()
    /// `daemon`: scheduling and retries.
    public var daemon = DaemonConfig()
    /// `oci`: an OCI registry as the transport, instead of the git registry.
    public var oci = OCIConfig()

    /// The variables whose `${VAR}` expansions this file uses outside path keys: their values are scrubbed from
    /// every message, log and output, like the `.env` values.
    public var secretVariables: Set<String> = []

    /// Every default.
    public init() {}

    /// `publisher.train_command`, which a publish with `train_before_push: true` needs.
    ///
    /// Not checked when loading, because the old script's example sets `train_before_push: true` alone.
    public func requireTrainCommand() throws(ConfigError) -> String {
        if let command = publisher.trainCommand, !command.allSatisfy(\.isWhitespace) {
            return command
        }
        throw ConfigError(
            .missingValue, file: sourcePath, key: "model_sync.publisher.train_command",
            reason: "required when train_before_push is true",
            hint: "set model_sync.publisher.train_command to the shell command that trains the models, "
                + "set train_before_push: false, or publish with --no-train"
        )
    }
}
