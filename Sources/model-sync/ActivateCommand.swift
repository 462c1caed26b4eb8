import ArgumentParser
import ModelSyncKit

struct ActivateCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Materialize a stored manifest as a new generation and make it the active set.",
        discussion: """
            The models folder becomes a symbolic link to <store>/generations/N, replaced in one rename(2): \
            readers see the old set or the new one, never a mix. With activation.health_check set, a failing \
            check restores the previous set and exits 6. DIGEST may be a unique prefix (6+ hex characters).
            """)

    @Argument(help: "The manifest digest (sha256:<hex>) to activate.")
    var digest: String

    @Flag(help: "Activate even a manifest that failed its health check before, or the one already active.")
    var force = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let manifest = try store.resolveManifest(digest)
        let result = try Generations(store: store, modelsDir: workspace.modelsDir)
            .activate(manifest, options: workspace.activationOptions(force: force))
        try ActivateCommand.finish(result, output: output)
    }

    /// Prints an activation result and ends with the right exit code (shared by activate and the pulls).
    static func finish(_ result: ActivationResult, output: Output) throws {
        let text: String
        switch result.result {
        case .activated: text = "activated generation \(result.generation ?? 0) (\(result.manifest))"
        case .upToDate: text = "up to date: generation \(result.generation ?? 0) (\(result.manifest))"
        case .rolledBack:
            text = "rolled back: \(result.manifest) \(result.reason ?? "failed its health check"); "
                + (result.generation.map { "generation \($0) is active again" } ?? "no set is active")
        case .heldBack:
            text = "held back: \(result.manifest) is not activated, \(result.reason ?? "it is held"); "
                + (result.generation.map { "generation \($0) stays active" } ?? "no set is active")
                + " (pass --force to activate it)"
            output.note("warning: the latest manifest \(result.manifest) is held back: \(result.reason ?? "it is held")")
        }
        output.result(ActivationOutput(result), text: text)
        if result.result == .rolledBack {
            throw ExitCode(ErrorCategory.healthCheck.exitCode)
        }
        if let failure = result.onActivateFailure {
            ModelSync.report(failure)
            throw ExitCode(failure.category.exitCode)
        }
    }
}

/// `activate --json`, `pull --json` and `runpod-pull --json`.
struct ActivationOutput: Encodable {
    let result: String
    @Nullable var generation: Int?
    let manifest: Digest
    @Nullable var previousGeneration: Int?
    let fetchedObjects: Int
    let fetchedBytes: UInt64
    let removedGenerations: [Int]

    enum CodingKeys: String, CodingKey {
        case result, generation, manifest
        case previousGeneration = "previous_generation"
        case fetchedObjects = "fetched_objects"
        case fetchedBytes = "fetched_bytes"
        case removedGenerations = "removed_generations"
    }

    init(_ activation: ActivationResult) {
        result = activation.result.rawValue
        generation = activation.generation
        manifest = activation.manifest
        previousGeneration = activation.previousGeneration
        fetchedObjects = activation.fetchedObjects
        fetchedBytes = activation.fetchedBytes
        removedGenerations = activation.removedGenerations
    }
}
