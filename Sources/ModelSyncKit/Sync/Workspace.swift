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

    /// Resolves the workspace. `configPath` nil means defaults (no file).
    public static func resolve(configPath: String?, modelsDir: String?, storeDir: String?, envFile: String?,
                               processEnvironment: [String: String] = ProcessInfo.processInfo.environment) throws -> Workspace {
        let environment = try DotEnv.merged(process: processEnvironment, dotEnvPath: envFile ?? dotEnvDefault())
        var config = Config()
        if let configPath {
            config = try Config.load(path: configPath, environment: environment)
        }
        let models = FileSystem.absolute(modelsDir ?? config.modelsDir ?? "models")
        let store: String
        if let storeDir = storeDir ?? config.storeDir {
            store = FileSystem.absolute(storeDir)
        } else {
            store = (models as NSString).deletingLastPathComponent + "/.model-sync"
        }
        try StorePlacement.check(storeDir: store, modelsDir: models)
        return Workspace(config: config, environment: environment, modelsDir: models, storeDir: store)
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
                          onActivate: config.activation.onActivate, force: force)
    }
}
