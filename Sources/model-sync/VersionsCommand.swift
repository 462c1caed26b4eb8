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
            check) is marked held. `pull --manifest DIGEST` (a prefix is enough) activates any of them. With \
            oci.reference set, lists the sets of the OCI registry's sha256-<hex> tags, newest first.

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
        let workspace = try global.workspace()
        let versions = try RegistryVersions(workspace: workspace).list(limit: limit)
        let empty = workspace.config.oci.reference.map { "nothing published in \($0) yet" }
            ?? "nothing published on channels/latest yet"
        let lines = versions.map { version -> String in
            var line = "\(version.time.rfc3339)  \(version.manifest)"
            if let files = version.files, let bytes = version.bytes { line += "  \(files) files  \(Output.bytes(bytes))" }
            if let commit = version.commit { line += "  commit \(commit.hex.prefix(12))" }
            if let image = version.imageManifest { line += "  tag \(OCIRegistry.digestTag(version.manifest).prefix(19))  image \(image.hex.prefix(12))" }
            if version.active { line += "  (active)" }
            if version.heldBack != nil { line += "  (held)" }
            return line
        }
        output.result(VersionsOutput(versions: versions.map(VersionsOutput.Version.init)),
                      text: lines.isEmpty ? empty : lines.joined(separator: "\n"))
    }
}

/// `versions --json`: newest first.
struct VersionsOutput: Encodable {
    struct Version: Encodable {
        let time: Date
        let manifest: Digest
        @Nullable var files: Int?
        @Nullable var bytes: UInt64?
        /// The git commit, null for an OCI registry.
        @Nullable var commit: String?
        /// The image manifest (OCI), null for git.
        @Nullable var imageManifest: Digest?
        let active: Bool
        @Nullable var heldBack: String?

        enum CodingKeys: String, CodingKey {
            case time, manifest, files, bytes, commit, active
            case heldBack = "held_back"
            case imageManifest = "image_manifest"
        }

        init(_ version: RegistryVersions.Version) {
            time = version.time
            manifest = version.manifest
            files = version.files
            bytes = version.bytes
            commit = version.commit?.hex
            imageManifest = version.imageManifest
            active = version.active
            heldBack = version.heldBack
        }
    }

    let versions: [Version]
}
