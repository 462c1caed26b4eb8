import ArgumentParser
import Foundation
import ModelSyncKit

struct LogCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the history of imports, activations, rollbacks and garbage collections.")

    /// More events than anyone reads in a terminal or a script; the store keeps them all anyway.
    static let maxLimit = 1_000_000

    @Option(help: "Show at most this many of the most recent events (1 to \(maxLimit)).")
    var limit = 100

    func validate() throws {
        guard (1...LogCommand.maxLimit).contains(limit) else {
            throw ValidationError("--limit must be from 1 to \(LogCommand.maxLimit), not \(limit)")
        }
    }

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let events = try global.workspace().openStoreForReading().events(limit: limit)
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
        output.result(LogOutput(events: events.map(LogOutput.Event.init)), text: lines.joined(separator: "\n"))
    }
}

/// `log --json`: events oldest first.
struct LogOutput: Encodable {
    struct Event: Encodable {
        let time: Date
        let kind: String
        @Nullable var generation: Int?
        @Nullable var fromGeneration: Int?
        @Nullable var manifest: Digest?
        @Nullable var reason: String?

        enum CodingKeys: String, CodingKey {
            case time, kind, generation, manifest, reason
            case fromGeneration = "from_generation"
        }

        init(_ event: StoreEvent) {
            time = event.time
            kind = event.kind.rawValue
            generation = event.generation
            fromGeneration = event.fromGeneration
            manifest = event.manifest
            reason = event.reason
        }
    }

    let events: [Event]

    enum CodingKeys: String, CodingKey {
        case events
    }
}
