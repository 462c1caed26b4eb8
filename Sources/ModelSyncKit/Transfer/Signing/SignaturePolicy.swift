import Foundation

/// Which signature files sit beside what they sign (docs/signing.md): a manifest's, and a channel's release.
public enum SignatureFile: Sendable, Hashable, CustomStringConvertible {
    /// `manifests/sha256/<hex>.sig.json`: the manifest statement.
    case manifest(Digest)
    /// `channels/<name>.release.json`: the release statement.
    case release(channel: String)

    /// The path relative to the registry's (or archive's) model folder.
    public var relativePath: String {
        switch self {
        case .manifest(let digest): return "manifests/sha256/\(digest.hex).sig.json"
        case .release(let channel): return "channels/\(channel).release.json"
        }
    }

    public var description: String { relativePath }
}

/// What clients require of signatures: at least `threshold` distinct trusted keys signed the statement's exact
/// bytes (`signing.trusted_keys`, `signing.threshold`).
public struct SignaturePolicy: Sendable, Equatable {
    /// The keys whose signatures count.
    public let trustedKeys: [Ed25519PublicKey]
    /// How many distinct trusted keys must have signed.
    public let threshold: Int

    /// A policy; `threshold` is at least 1.
    public init(trustedKeys: [Ed25519PublicKey], threshold: Int) {
        self.trustedKeys = trustedKeys
        self.threshold = max(1, threshold)
    }

    /// The key ids of the trusted keys whose signatures over the envelope's statement verify, in file order.
    /// Throws ``IntegrityError`` `invalid-signature` naming `name` when fewer than ``threshold`` do, and why:
    /// signatures that do not verify, keys that are not trusted.
    public func verify(_ envelope: SignatureEnvelope, name: String) throws(IntegrityError) -> [String] {
        var accepted: [String] = []
        var invalid: [String] = []
        var unknown: [String] = []
        for signature in envelope.signatures {
            guard let key = trustedKeys.first(where: { $0.keyID == signature.keyID }) else {
                unknown.append(String(signature.keyID.prefix(80)))
                continue
            }
            if key.isValidSignature(signature.bytes, of: envelope.statement) {
                if !accepted.contains(signature.keyID) { accepted.append(signature.keyID) }
            } else {
                invalid.append(signature.keyID)
            }
        }
        guard accepted.count < threshold else { return accepted }
        var reasons: [String] = []
        if envelope.signatures.isEmpty { reasons.append("it holds no signature") }
        if !invalid.isEmpty { reasons.append("the signature by \(invalid.joined(separator: ", ")) does not verify (tampered statement or signature)") }
        if !unknown.isEmpty { reasons.append("key \(unknown.joined(separator: ", ")) is not in signing.trusted_keys") }
        throw IntegrityError(.invalidSignature,
                             "\(name): \(accepted.count) valid signature(s) by trusted keys, \(threshold) required; "
                                 + reasons.joined(separator: "; "),
                             hint: "the publisher must sign with a key listed in signing.trusted_keys (docs/signing.md)")
    }
}
