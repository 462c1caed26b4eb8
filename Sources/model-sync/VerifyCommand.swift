import ArgumentParser
import Foundation
import ModelSyncKit

struct VerifyCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a published manifest's signatures (default: the active set's) against signing.trusted_keys.",
        discussion: """
            Fetches the registry, changes nothing. Exit 0 when the threshold of trusted keys signed the manifest \
            (and the channel's release, when the channel names it), 3 with the reason otherwise.

            Example: model-sync verify --config configs/bot.yaml
            """)

    @Argument(help: "A manifest digest, a unique prefix of 6+ hex characters, or a generation number.")
    var manifest: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let report = try SignatureCheck(workspace: global.workspace()).run(manifest)
        var text = "\(report.manifest): signed by \(report.keyIDs.joined(separator: ", "))"
        if let release = report.release {
            text += "\nrelease \(release.sequence) of channel \(release.channel), issued \(release.issued.rfc3339), "
                + "expires \(release.expires.rfc3339)"
        }
        output.result(VerifyOutput(report), text: text)
    }
}

/// `verify --json`.
struct VerifyOutput: Encodable {
    let manifest: Digest
    let keyIDs: [String]
    @Nullable var release: ReleaseOutput?

    init(_ report: SignatureCheck.Report) {
        manifest = report.manifest
        keyIDs = report.keyIDs
        release = report.release.map(ReleaseOutput.init)
    }

    enum CodingKeys: String, CodingKey {
        case manifest, release
        case keyIDs = "key_ids"
    }
}

/// A signed release in `--json` output.
struct ReleaseOutput: Encodable {
    let channel: String
    let sequence: Int
    let issued: Date
    let expires: Date

    init(_ release: ReleaseStatement) {
        channel = release.channel
        sequence = release.sequence
        issued = release.issued
        expires = release.expires
    }
}
