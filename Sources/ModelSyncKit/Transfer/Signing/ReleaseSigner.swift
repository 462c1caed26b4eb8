import Foundation

/// Signs what a publish writes: the manifest statement and the channel's next release (docs/signing.md).
public struct ReleaseSigner: Sendable {
    /// The publisher's key (`signing.key_file` or `signing.key_env`).
    public let key: Ed25519PrivateKey
    /// How long a release is valid (`signing.expires_sec`).
    public let expiresSec: Double
    /// The clock; tests move it.
    public var now: @Sendable () -> Date = { Date() }

    /// A signer with `key`, whose releases expire `expiresSec` after they are issued.
    public init(key: Ed25519PrivateKey, expiresSec: Double) {
        self.key = key
        self.expiresSec = expiresSec
    }

    /// The signature file for `manifest`.
    public func manifestSignature(_ manifest: Digest) -> [UInt8] {
        SignatureEnvelope(statement: ManifestStatement(manifest: manifest).canonicalBytes, signedBy: [key]).encoded
    }

    /// The signature file for `manifest` given the one the destination holds (`existing`): nil when that
    /// already carries this key's valid signature; otherwise its other signatures (cosigners', a rotated-out
    /// key's) are kept and this key's is added, so a publish never drops an approval.
    public func manifestSignature(_ manifest: Digest, merging existing: [UInt8]?) -> [UInt8]? {
        let statement = ManifestStatement(manifest: manifest).canonicalBytes
        guard let existing, let envelope = try? SignatureEnvelope.decode(existing, name: ""),
              envelope.statement == statement else { return manifestSignature(manifest) }
        let keyID = key.publicKey.keyID
        if envelope.signatures.contains(where: { $0.keyID == keyID && key.publicKey.isValidSignature($0.bytes, of: statement) }) {
            return nil
        }
        return SignatureEnvelope(statement: statement, signatures: envelope.signatures.filter { $0.keyID != keyID }
            + [.init(keyID: keyID, bytes: key.sign(statement))]).encoded
    }

    /// The next release of `channel`: `previous`'s sequence plus one (1 for the first).
    public func release(_ channel: String, manifest: Digest, after previous: ReleaseStatement?) -> ReleaseStatement {
        let issued = now()
        return ReleaseStatement(channel: channel, manifest: manifest, sequence: (previous?.sequence ?? 0) + 1,
                                issued: issued, expires: issued.addingTimeInterval(expiresSec))
    }

    /// The signature file holding `release`.
    public func releaseSignature(_ release: ReleaseStatement) -> [UInt8] {
        SignatureEnvelope(statement: release.canonicalBytes, signedBy: [key]).encoded
    }

    /// True when `previous` already names `manifest` and stays valid for more than half of `expires_sec`, so
    /// a publish of the same set need not renew it; a daily publisher renews a release well before it expires.
    public func isCurrent(_ previous: ReleaseStatement?, manifest: Digest) -> Bool {
        guard let previous, previous.manifest == manifest else { return false }
        return previous.expires.timeIntervalSince(now()) > expiresSec / 2
    }
}
