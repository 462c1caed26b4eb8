import ArgumentParser
import ModelSyncKit

struct CosignCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "cosign",
        abstract: "Add this key's signature to the registry's current release (for signing.threshold above 1).",
        discussion: """
            Signs the statements of channels/latest.release.json and of its manifest's .sig.json byte for byte \
            with signing.key_file, and pushes them as one commit. Name the manifest you approve to refuse \
            anything else.

            Example: model-sync cosign sha256:ab12… --config configs/approver.yaml
            """)

    @Argument(help: "The manifest you mean to approve (a digest or a unique hex prefix); the channel must name it.")
    var manifest: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let result = try Cosigner(workspace: global.workspace(), expected: manifest).cosign()
        output.result(CosignOutput(result), text: result.commit.map { "cosigned release \(result.sequence) of \(result.manifest) "
            + "with \(result.keyID) in commit \($0)" } ?? "release \(result.sequence) of \(result.manifest) already carries \(result.keyID)'s signature")
    }
}

/// `cosign --json`.
struct CosignOutput: Encodable {
    let manifest: Digest
    let sequence: Int
    @Nullable var commit: String?
    let keyID: String

    init(_ result: Cosigner.Result) {
        manifest = result.manifest
        sequence = result.sequence
        commit = result.commit?.hex
        keyID = result.keyID
    }

    enum CodingKeys: String, CodingKey {
        case manifest, sequence, commit
        case keyID = "key_id"
    }
}
