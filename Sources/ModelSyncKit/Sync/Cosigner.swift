import Foundation

/// `cosign`: adds this machine's signature (`signing.key_file`) to the channel's current release and its
/// manifest's signature file, so that clients with a `signing.threshold` above 1 accept it
/// (docs/signing.md "Several signers"). The statements are signed as they are, byte for byte.
public struct Cosigner {
    /// What `cosign` did.
    public struct Result: Sendable, Equatable {
        /// The manifest and release signed.
        public let manifest: Digest
        public let sequence: Int
        /// The commit pushed; nil when this key had signed both files already.
        public let commit: GitOID?
        /// The key that signed.
        public let keyID: String
    }

    public let workspace: Workspace
    /// The manifest the signer means to approve (a digest or unique prefix); the channel must name it.
    public var expected: String?

    /// A cosigner for the workspace's configuration.
    public init(workspace: Workspace, expected: String? = nil) {
        self.workspace = workspace
        self.expected = expected
    }

    /// Signs the channel's release and manifest statements and pushes them as one commit. Throws
    /// ``UsageError`` (exit 2) without a key, without a signed release, or when the channel names another
    /// manifest than `expected`; ``IntegrityError`` (exit 3) when the files do not parse, name another
    /// manifest or the release has expired (a cosigner never renews).
    public func cosign() throws -> Result {
        guard let signer = try workspace.releaseSigner() else {
            throw UsageError("signing.key_file (or key_env) is not set: there is no key to cosign with",
                             hint: "create one with `model-sync keygen --out FILE` and set signing.key_file")
        }
        if let reference = workspace.config.oci.reference {
            throw UsageError("cosign adds signatures to a git registry; \(reference) (oci.reference) is an OCI registry",
                             hint: "with an OCI registry, releases carry the publisher's signature alone (signing.threshold: 1)")
        }
        return try workspace.holdingRegistryLock {
            let registry = try GitRegistry.open(config: workspace.config, environment: workspace.environment)
            var lastConflict: (any Error)?
            for _ in 1...TransferEngine.publishAttempts {
                switch try attempt(registry, signer: signer) {
                case .done(let result): return result
                case .conflict(let error): lastConflict = error
                }
            }
            throw registry.lostRace(lastConflict!)
        }
    }

    private enum Attempt {
        case done(Result)
        case conflict(any Error)
    }

    /// One attempt on the registry's tip: read, check, sign, push.
    private func attempt(_ registry: GitRegistry, signer: ReleaseSigner) throws -> Attempt {
        let channel = RegistryLayout.latest
        guard let base = try registry.synchronize(), let digest = try registry.channel(channel, in: base) else {
            throw UsageError("the registry has nothing published on \(registry.layout.channelPath(channel)) yet",
                             hint: "cosign after a signed `model-sync publish`")
        }
        if let expected, (try? PublishedManifestReference(expected).resolve(in: [digest])) != digest {
            throw UsageError("the channel names \(digest), not \(expected): nothing was signed",
                             hint: "check what was published (`model-sync versions`), then cosign that manifest")
        }
        let releaseFile = SignatureFile.release(channel: channel), manifestFile = SignatureFile.manifest(digest)
        let (releaseEnvelope, release) = try read(releaseFile, registry, base) { try ReleaseStatement.decode($0, name: $1) }
        let (manifestEnvelope, manifestStatement) = try read(manifestFile, registry, base) { try ManifestStatement.decode($0, name: $1) }
        guard release.manifest == digest, manifestStatement.manifest == digest else {
            throw IntegrityError(.signatureMismatch, "the registry's signature files do not name \(digest), the manifest "
                                 + "\(registry.layout.channelPath(channel)) names: nothing was signed",
                                 hint: "ask the publisher to publish again")
        }
        guard release.expires > signer.now() else {
            throw IntegrityError(.releaseExpired, "release \(release.sequence) expired at \(release.expires.rfc3339): nothing was signed",
                                 hint: "the publisher renews it with its next publish; cosign that one")
        }
        let keyID = signer.key.publicKey.keyID
        var changes: [GitTreeChange] = []
        for (file, envelope) in [(releaseFile, releaseEnvelope), (manifestFile, manifestEnvelope)]
        where !envelope.signatures.contains(where: { $0.keyID == keyID && signer.key.publicKey.isValidSignature($0.bytes, of: envelope.statement) }) {
            let signed = SignatureEnvelope(statement: envelope.statement,
                                           signatures: envelope.signatures.filter { $0.keyID != keyID }
                                               + [.init(keyID: keyID, bytes: signer.key.sign(envelope.statement))])
            changes.append(.upsert(path: registry.layout.signaturePath(file), blob: try registry.repository.createBlob(bytes: signed.encoded)))
        }
        guard !changes.isEmpty else {
            return .done(Result(manifest: digest, sequence: release.sequence, commit: nil, keyID: keyID))
        }
        let message = "cosign release \(release.sequence) of \(digest)\n\nkey: \(keyID)\n"
        switch try registry.pushCommit(changes, onto: base, message: message, author: registry.author(config: workspace.config)) {
        case .pushed(let commit): return .done(Result(manifest: digest, sequence: release.sequence, commit: commit, keyID: keyID))
        case .rejected(let error): return .conflict(error)
        }
    }

    /// A signature file at `base`, parsed, with its statement decoded by `decode`.
    private func read<Statement>(_ file: SignatureFile, _ registry: GitRegistry, _ base: GitOID,
                                 _ decode: ([UInt8], String) throws -> Statement) throws -> (SignatureEnvelope, Statement) {
        let name = registry.layout.signaturePath(file)
        guard let bytes = try registry.signatureBytes(file, in: base) else {
            throw UsageError("the registry has no \(name): there is no signed release to cosign",
                             hint: "the publisher must publish with signing.key_file set first")
        }
        let envelope = try SignatureEnvelope.decode(bytes, name: name)
        return (envelope, try decode(envelope.statement, name))
    }
}
