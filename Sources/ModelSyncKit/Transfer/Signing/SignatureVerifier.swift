import Foundation

/// Checks the signature files a ``TransferSource`` holds against a ``SignaturePolicy``, the same way for every
/// transport (docs/signing.md "What clients enforce"). Every refusal is an ``IntegrityError`` (exit 3) that
/// names the file and the reason; nothing is fetched or activated before these checks pass.
public struct SignatureVerifier {
    /// A release that passed every check, with the keys that signed it.
    public struct VerifiedRelease: Sendable, Equatable {
        public let statement: ReleaseStatement
        public let keyIDs: [String]
    }

    /// The trusted keys and threshold.
    public let policy: SignaturePolicy
    /// The time expiry is judged against.
    public let now: Date

    /// A verifier for `policy` at time `now`.
    public init(policy: SignaturePolicy, now: Date = Date()) {
        self.policy = policy
        self.now = now
    }

    /// The trusted keys that signed manifest `digest`'s statement in `source`. Throws when the signature file
    /// is missing or malformed, when fewer than the threshold of trusted keys signed it, or when the statement
    /// names another manifest.
    public func verifyManifest(_ digest: Digest, from source: any TransferSource) throws -> [String] {
        let (envelope, name) = try envelope(.manifest(digest), from: source)
        let keys = try policy.verify(envelope, name: name)
        let statement = try ManifestStatement.decode(envelope.statement, name: name)
        guard statement.manifest == digest else {
            throw IntegrityError(.signatureMismatch, "\(name) signs manifest \(statement.manifest), not \(digest)",
                                 hint: "the registry's signature files were swapped or edited; ask the publisher to publish again")
        }
        return keys
    }

    /// Checks channel `channel`'s release in `source`: signed by the threshold of trusted keys, naming
    /// `digest` (what the channel file names) and the channel, not expired, and not older than `accepted` —
    /// the newest release this client accepted (a lower sequence, or the same sequence naming another
    /// manifest, is a rollback). Then checks the manifest's own signature.
    public func verifyRelease(_ channel: String, naming digest: Digest, from source: any TransferSource,
                              accepted: AcceptedReleases.Entry?) throws -> VerifiedRelease {
        let (envelope, name) = try envelope(.release(channel: channel), from: source)
        let keys = try policy.verify(envelope, name: name)
        let release = try ReleaseStatement.decode(envelope.statement, name: name)
        guard release.channel == channel, release.manifest == digest else {
            throw IntegrityError(.signatureMismatch, "\(name) releases manifest \(release.manifest) on channel "
                                 + "\"\(release.channel.prefix(80))\", but channel \(channel) names \(digest)",
                                 hint: "the channel was moved without a signed release; ask the publisher to publish again")
        }
        guard release.expires > now else {
            throw IntegrityError(.releaseExpired, "\(name): release \(release.sequence) of \(digest) expired at "
                                 + "\(release.expires.rfc3339) (now \(now.rfc3339)); the registry may be frozen",
                                 hint: "the publisher renews releases each publish (signing.expires_sec); publish again")
        }
        if let accepted {
            let older = release.sequence < accepted.sequence
            let forked = release.sequence == accepted.sequence && release.manifest != accepted.manifest
            guard !older && !forked else {
                throw IntegrityError(.releaseRollback, "\(name): release \(release.sequence) of \(release.manifest) "
                                     + (older ? "is older than" : "conflicts with")
                                     + " release \(accepted.sequence) of \(accepted.manifest) this client already accepted; "
                                     + "the registry was rolled back",
                                     hint: "to run an older set deliberately, use `pull --manifest <digest>`")
            }
        }
        _ = try verifyManifest(digest, from: source)
        return VerifiedRelease(statement: release, keyIDs: keys)
    }

    /// The parsed signature file and the name errors use for it.
    private func envelope(_ file: SignatureFile, from source: any TransferSource) throws -> (SignatureEnvelope, String) {
        let name = source.signatureLocation(file)
        guard let bytes = try source.signatureBytes(file) else {
            throw IntegrityError(.missingSignature, "\(name) is missing, and signing.trusted_keys requires signatures",
                                 hint: "the publisher must set signing.key_file (docs/signing.md)")
        }
        return (try SignatureEnvelope.decode(bytes, name: name), name)
    }
}
