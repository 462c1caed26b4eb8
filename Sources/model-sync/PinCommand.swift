import ArgumentParser
import ModelSyncKit

struct PinCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Keep a manifest's objects through gc whatever its age (--remove to unpin).",
        discussion: "Example: model-sync pin sha256:ab12… (a known-good set to fall back to after its generation is gone)")

    @Argument(help: "The manifest digest, a unique prefix of 6+ hex characters, or a generation number.")
    var manifest: String

    @Flag(help: "Unpin instead.")
    var remove = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let store = try global.workspace().openStore()
        let digest = try store.resolveManifest(manifest)
        try store.pin(digest, !remove)
        output.result(PinOutput(manifest: digest, pinned: !remove), text: (remove ? "unpinned " : "pinned ") + digest.description)
    }
}

/// `pin --json`.
struct PinOutput: Encodable {
    let manifest: Digest
    let pinned: Bool

    enum CodingKeys: String, CodingKey {
        case manifest, pinned
    }
}
