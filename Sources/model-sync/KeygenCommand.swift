import ArgumentParser
import ModelSyncKit

struct KeygenCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 signing key for publishers (PEM, mode 0600) and print its public key.",
        discussion: """
            Example: model-sync keygen --out /etc/model-sync/publisher.pem
            Set signing.key_file to the file on the publisher and add the printed key to signing.trusted_keys \
            on every client (docs/signing.md).
            """)

    @Option(name: .long, help: "Where to write the private key; an existing file is never overwritten.")
    var out: String

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let key = try SigningKeyFile.create(at: out)
        output.result(KeygenOutput(publicKey: key.description, keyID: key.keyID),
                      text: "\(key)\nkey_id \(key.keyID)\nprivate key written to \(out) (mode 0600)")
    }
}

/// `keygen --json`: the public half only.
struct KeygenOutput: Encodable {
    let publicKey: String
    let keyID: String

    enum CodingKeys: String, CodingKey {
        case publicKey = "public_key"
        case keyID = "key_id"
    }
}
