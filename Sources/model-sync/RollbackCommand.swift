import ArgumentParser
import ModelSyncKit

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make the previously active (or the named) generation active again.",
        discussion: "Rollback follows activation history: it returns to the set that was active before the current one.")

    @Option(name: .customLong("to"), help: ArgumentHelp("Return to this retained generation instead.", valueName: "generation"))
    var target: Int?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let result = try Generations(store: store, modelsDir: workspace.modelsDir).rollback(to: target)
        output.result(["generation": result.generation, "manifest": result.manifest, "from_generation": result.from],
                      text: "generation \(result.generation) is active (\(result.manifest))"
                        + (result.from.map { ", was \($0)" } ?? ""))
    }
}
