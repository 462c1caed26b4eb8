import ArgumentParser
import ModelSyncKit

struct DiffCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List the files added, removed and changed between two manifests or generations.",
        discussion: "A and B are manifest digests (or unique prefixes of 6+ hex characters) or generation numbers.")

    @Argument(help: "The older set.") var from: String
    @Argument(help: "The newer set.") var to: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let store = try global.workspace().openStoreForReading()
        let old = try store.manifest(try store.resolveManifest(from))
        let new = try store.manifest(try store.resolveManifest(to))
        let diff = ManifestDiff(from: old, to: new)
        let lines = diff.added.map { "A \($0)" } + diff.removed.map { "D \($0)" } + diff.changed.map { "M \($0)" }
        output.result(DiffOutput(added: diff.added, removed: diff.removed, changed: diff.changed),
                      text: lines.joined(separator: "\n"))
    }
}

/// `diff --json`: paths, each list sorted as the diff gives it.
struct DiffOutput: Encodable {
    let added: [String]
    let removed: [String]
    let changed: [String]

    enum CodingKeys: String, CodingKey {
        case added, removed, changed
    }
}
