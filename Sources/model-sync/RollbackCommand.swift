import ArgumentParser
import ModelSyncKit

struct RollbackCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make the previously active (or the named) generation active again.",
        discussion: "Rollback follows activation history: it returns to the set that was active before the current one.")

    /// Generations are numbered from 1, one per activation: a billion is beyond any store's life.
    static let maxGeneration = 1_000_000_000

    @Option(name: .customLong("to"), help: ArgumentHelp(
        "Return to this retained generation instead (1 to \(maxGeneration)).", valueName: "generation"))
    var target: Int?

    func validate() throws {
        if let target, !(1...RollbackCommand.maxGeneration).contains(target) {
            throw ValidationError("--to must be a generation number from 1 to \(RollbackCommand.maxGeneration), not \(target)")
        }
    }

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let result = try Generations(store: store, modelsDir: workspace.modelsDir).rollback(to: target)
        output.result(RollbackOutput(generation: result.generation, manifest: result.manifest,
                                     fromGeneration: result.from),
                      text: "generation \(result.generation) is active (\(result.manifest))"
                        + (result.from.map { ", was \($0)" } ?? ""))
    }
}

/// `rollback --json`.
struct RollbackOutput: Encodable {
    let generation: Int
    let manifest: Digest
    @Nullable var fromGeneration: Int?

    enum CodingKeys: String, CodingKey {
        case generation, manifest
        case fromGeneration = "from_generation"
    }
}
