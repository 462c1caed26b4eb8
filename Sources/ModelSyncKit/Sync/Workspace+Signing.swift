import Foundation

extension Workspace {
    /// The signer `publish` and `pack` use: nil when neither `signing.key_file` nor `signing.key_env` is set.
    /// A key that is set but cannot be read is a usage error (exit 2), so nothing is published unsigned.
    /// Messages name the file or variable, never its content.
    public func releaseSigner() throws -> ReleaseSigner? {
        let signing = config.signing
        let pem: [UInt8]
        let origin: String
        if let file = signing.keyFile {
            origin = "signing.key_file \(file)"
            guard let data = FileManager.default.contents(atPath: FileSystem.absolute(file)) else {
                let reason = FileManager.default.fileExists(atPath: FileSystem.absolute(file)) ? "cannot be read" : "does not exist"
                throw UsageError("\(origin) \(reason); nothing was published unsigned",
                                 hint: "restore the publisher's key, or create one with `model-sync keygen --out \(file)` "
                                     + "and add its public key to every client's signing.trusted_keys (docs/signing.md)")
            }
            pem = Array(data)
        } else if let variable = signing.keyEnv {
            origin = "signing.key_env \(variable)"
            guard let text = environment[variable], !text.isEmpty else {
                throw UsageError("\(origin) is not set in the environment; nothing was published unsigned",
                                 hint: "pass the PEM private key in \(variable)")
            }
            pem = Array(text.utf8)
        } else {
            return nil
        }
        do {
            return ReleaseSigner(key: try Ed25519PrivateKey(pem: pem), expiresSec: signing.expiresSec)
        } catch {
            throw UsageError("\(origin) is not an Ed25519 private key: \(error.reason); nothing was published unsigned",
                             hint: "create one with `model-sync keygen --out FILE` (or `openssl genpkey -algorithm ed25519`)")
        }
    }

    /// What pulls require, nil when `signing.trusted_keys` is empty (signatures are then not checked).
    public var signaturePolicy: SignaturePolicy? {
        config.signing.requiresSignatures
            ? SignaturePolicy(trustedKeys: config.signing.trustedKeys, threshold: config.signing.threshold) : nil
    }

    /// The record of accepted releases in this workspace's store.
    public var acceptedReleases: AcceptedReleases { AcceptedReleases(storeRoot: FileSystem.absolute(storeDir)) }
}
