import Foundation
import ModelSyncKit

/// A usage error about a missing `model_sync.…` key, raised by a command run without `--config`: the hint
/// says to pass `--config`, naming the configuration file found nearby when there is one. model-sync reads no
/// file unless told, so a user beside `configs/bot.yaml` who forgot the flag otherwise gets a hint about a key
/// the file already sets.
struct MissingConfigHint: ModelSyncError {
    let underlying: any ModelSyncError
    /// The configuration file found beside the current directory, when one was.
    let nearby: String?

    var category: ErrorCategory { underlying.category }
    var message: String { underlying.message }
    var hint: String? {
        let pass = nearby.map { "pass --config \($0) (no configuration file is read without --config)" }
            ?? "pass --config FILE with a model_sync: section (no configuration file is read without --config)"
        return underlying.hint.map { "\(pass); or \($0)" } ?? pass
    }

    /// Files a configuration is usually kept in, looked at first.
    static let usualPlaces = ["configs/bot.yaml", "config.yaml", "model-sync.yaml", "configs/config.yaml",
                              "config/bot.yaml", "config/config.yaml"]

    /// `error` with the `--config` hint when it is about a missing `model_sync.…` key and no `--config` was
    /// given; else `error` as it is.
    static func adding(to error: any ModelSyncError, configGiven: Bool,
                       directory: String = FileManager.default.currentDirectoryPath) -> any ModelSyncError {
        guard !configGiven, error.category == .usage,
              error.message.contains("model_sync.") || (error.hint ?? "").contains("model_sync.")
        else { return error }
        return MissingConfigHint(underlying: error, nearby: nearbyConfig(in: directory))
    }

    /// The first usual place holding a `model_sync:` section, else the first `*.yaml`/`*.yml` of the directory
    /// or its `configs/` and `config/` folders that holds one.
    static func nearbyConfig(in directory: String) -> String? {
        let files = FileManager.default
        var candidates = usualPlaces
        for folder in ["", "configs/", "config/"] {
            let names = (try? files.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []
            candidates += names.sorted().filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { folder + $0 }
        }
        return candidates.first { hasModelSyncSection(directory + "/" + $0) }
    }

    /// True when the file's first 1 MiB has a line starting with `model_sync:`.
    private static func hasModelSyncSection(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let text = String(decoding: (try? handle.read(upToCount: 1 << 20)) ?? Data(), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("model_sync:") }
    }
}
