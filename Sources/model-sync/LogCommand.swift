import ArgumentParser
import ModelSyncKit

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the history of imports, activations, rollbacks and garbage collections.")

    @Option(help: "Show at most this many of the most recent events.")
    var limit = 100

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let events = try global.workspace().openStoreForReading().events(limit: limit)
        let fields: [[String: Any?]] = events.map {
            ["time": $0.time, "kind": $0.kind.rawValue, "generation": $0.generation,
             "from_generation": $0.fromGeneration, "manifest": $0.manifest, "reason": $0.reason]
        }
        let lines = events.map { event -> String in
            var line = "\(event.time.rfc3339)  \(event.kind.rawValue)"
            if let from = event.fromGeneration, let to = event.generation {
                line += "  \(from) -> \(to)"
            } else if let to = event.generation {
                line += "  generation \(to)"
            }
            if let manifest = event.manifest { line += "  \(manifest)" }
            if let reason = event.reason { line += "  (\(reason))" }
            return line
        }
        output.result(["events": fields], text: lines.joined(separator: "\n"))
    }
}
