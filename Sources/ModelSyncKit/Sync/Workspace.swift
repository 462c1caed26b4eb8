import Foundation

/// Where a command works: the configuration, the environment (with `.env`), `models_dir` and `store_dir`,
/// resolved as CONTRACT.md says — flag › `model_sync:` key › default.
public struct Workspace: Sendable {
    public let config: Config
    /// The process environment merged with `.env` (the process wins). Holds secrets: never print it.
    public let environment: [String: String]
    /// Absolute `models_dir`.
    public let modelsDir: String
    /// Absolute `store_dir`.
    public let storeDir: String
    /// How configured commands run: the secrets they get only when they name them, and where their output goes
    /// (the daemon sets an observer for `--log-format json`).
    public var commands = CommandSettings()

    /// Resolves the workspace. `configPath` nil means defaults (no file).
    public static func resolve(configPath: String?, modelsDir: String?, storeDir: String?, envFile: String?,
                               processEnvironment: [String: String] = ProcessInfo.processInfo.environment) throws -> Workspace {
        let dotEnvPath = envFile ?? dotEnvDefault()
        let dotEnv = try dotEnvPath.map { path throws(ConfigError) in try DotEnv.load(path: path) } ?? [:]
        let environment = processEnvironment.merging(dotEnv) { processValue, _ in processValue }
        var config = Config()
        if let configPath {
            config = try Config.load(path: configPath, environment: environment)
        }
        let secrets = secretVariables(config: config, dotEnv: dotEnv, environment: environment)
        // A .env value that the file uses as a path (`models_dir: ${MODELS}`) is shown like every path.
        let paths = Set([config.modelsDir, config.storeDir, config.repoDir, config.git.sshKey, config.runpod.caBundle,
                         config.daemon.metricsFile, config.oci.caBundle].compactMap { $0 })
        SecretScrubber.register(secrets.values.filter { !paths.contains($0) })
        SecretScrubber.register(config.secretVariables.compactMap { environment[$0] })
        // Configured headers usually carry credentials, written in the file or not.
        SecretScrubber.register(config.runpod.headers.values)
        let models = FileSystem.absolute(modelsDir ?? config.modelsDir ?? "models")
        let store: String
        if let storeDir = storeDir ?? config.storeDir {
            store = FileSystem.absolute(storeDir)
        } else {
            store = (models as NSString).deletingLastPathComponent + "/.model-sync"
        }
        try StorePlacement.check(storeDir: store, modelsDir: models)
        var workspace = Workspace(config: config, environment: environment, modelsDir: models, storeDir: store)
        workspace.commands.secrets = secrets
        return workspace
    }

    /// The variables a configured command gets only when it names them: every `.env` value (the file holds
    /// secrets by definition) and the variables named by `runpod.api_key_env`, `git.token_env` and
    /// `oci.password_env`, from wherever they come.
    static func secretVariables(config: Config, dotEnv: [String: String],
                                environment: [String: String]) -> [String: String] {
        var secrets: [String: String] = [:]
        for name in dotEnv.keys { secrets[name] = environment[name] }
        for name in [config.runpod.apiKeyEnv, config.git.tokenEnv, config.oci.passwordEnv].compactMap({ $0 }) {
            if let value = environment[name] { secrets[name] = value }
        }
        return secrets
    }

    /// `.env` in the current directory when it exists (not an error when it does not).
    private static func dotEnvDefault() -> String? {
        FileManager.default.fileExists(atPath: ".env") ? ".env" : nil
    }

    /// Opens the store for writing, waiting up to `lock_timeout_sec` (or `lockTimeout`) for the lock.
    ///
    /// Every writer starts here, so this is where a health check a killed process left unfinished is
    /// settled (the previous set is put back) before anything else changes.
    public func openStore(lockTimeout: Double? = nil) throws -> Store {
        let store = try Store.open(at: storeDir, lockTimeout: lockTimeout ?? config.lockTimeoutSec, modelsDir: modelsDir)
        try Generations(store: store, modelsDir: modelsDir).settleInterruptedCheck()
        return store
    }

    /// True when a health check was left unfinished by a killed process (see `PendingCheck`).
    public var hasPendingCheck: Bool { FileManager.default.fileExists(atPath: StoreLayout(root: storeDir).checkPendingPath) }

    /// Opens the store for reading without the lock.
    public func openStoreForReading() throws -> Store {
        try Store.openForReading(at: storeDir)
    }

    /// The activation settings from the configuration.
    public func activationOptions(force: Bool = false) -> ActivationOptions {
        ActivationOptions(linkMode: config.linkMode, keepGenerations: config.keepGenerations,
                          healthCheck: config.activation.healthCheck, healthTimeout: config.activation.healthTimeoutSec,
                          onActivate: config.activation.onActivate, force: force, commands: commands)
    }
}
