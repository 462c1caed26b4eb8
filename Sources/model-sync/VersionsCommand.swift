import ArgumentParser
import Foundation
import ModelSyncKit

struct VersionsCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions",
        abstract: "List the sets published on the registry's channel, newest first.",
        discussion: """
            Fetches the registry as pull does (nothing is activated or stored) and lists each time \
            channels/latest moved: when, the manifest, its files and bytes, and the commit. The set this \
            machine runs is marked active; a set pull would hold back (rolled back from, or failed its health \
            check) is marked held. `pull --manifest DIGEST` (a prefix is enough) activates any of them.

            Example: model-sync versions --config configs/bot.yaml --limit 5
            """)

    static let maxLimit = 10_000

    @Option(help: "Show at most this many of the most recent sets (1 to \(maxLimit)).")
    var limit = 20

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...VersionsCommand.maxLimit).contains(limit) else {
            throw ValidationError("--limit must be from 1 to \(VersionsCommand.maxLimit), not \(limit)")
        }
    }

    func run() throws {
        let output = global.output()
        let versions = try RegistryVersions(workspace: try global.workspace()).list(limit: limit)
        let lines = versions.map { version -> String in
            var line = "\(version.time.rfc3339)  \(version.manifest)"
            if let files = version.files, let bytes = version.bytes { line += "  \(files) files  \(Output.bytes(bytes))" }
            line += "  commit \(version.commit.hex.prefix(12))"
            if version.active { line += "  (active)" }
            if version.heldBack != nil { line += "  (held)" }
            return line
        }
        output.result(VersionsOutput(versions: versions.map(VersionsOutput.Version.init)),
                      text: lines.isEmpty ? "nothing published on channels/latest yet" : lines.joined(separator: "\n"))
    }
}

/// `versions --json`: newest first.
struct VersionsOutput: Encodable {
    struct Version: Encodable {
        let time: Date
        let manifest: Digest
        @Nullable var files: Int?
        @Nullable var bytes: UInt64?
        let commit: String
        let active: Bool
        @Nullable var heldBack: String?

        enum CodingKeys: String, CodingKey {
            case time, manifest, files, bytes, commit, active
            case heldBack = "held_back"
        }

        init(_ version: RegistryVersions.Version) {
            time = version.time
            manifest = version.manifest
            files = version.files
            bytes = version.bytes
            commit = version.commit.hex
            active = version.active
            heldBack = version.heldBack
        }
    }

    let versions: [Version]
}
