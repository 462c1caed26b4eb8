import Foundation

/// `verify`: checks a published manifest's signatures, and the channel's release when the channel names it,
/// against `signing.trusted_keys`, changing nothing (docs/signing.md).
public struct SignatureCheck {
    /// What `verify` found: every check passed (a failure throws).
    public struct Report: Sendable, Equatable {
        /// The manifest checked.
        public let manifest: Digest
        /// The trusted keys whose signatures over the manifest statement verify.
        public let keyIDs: [String]
        /// The channel's release, when the channel names this manifest; nil for an older manifest.
        public let release: ReleaseStatement?
    }

    public let workspace: Workspace

    /// A check for the workspace's configuration.
    public init(workspace: Workspace) { self.workspace = workspace }

    /// Checks `reference` (a digest, a unique prefix or a generation number; nil: the active set) in the
    /// fetched registry. Throws ``UsageError`` (exit 2) without `signing.trusted_keys` or an active set, and
    /// ``IntegrityError`` (exit 3) naming the reason when a signature check fails. The rollback check uses
    /// the releases this client accepted, without recording anything.
    public func run(_ reference: String?) throws -> Report {
        guard let policy = workspace.signaturePolicy else {
            throw UsageError("signing.trusted_keys is not set: there is nothing to verify signatures against",
                             hint: "list the publisher's public key (from `model-sync keygen`) in signing.trusted_keys")
        }
        let digest = try resolve(reference)
        let oci = workspace.config.oci
        let source: any TransferSource = oci.isEnabled ? try workspace.ociRegistry() : try workspace.fetchedRegistry()
        let channel = oci.isEnabled ? oci.channel : RegistryLayout.latest
        let verifier = SignatureVerifier(policy: policy)
        let keys = try verifier.verifyManifest(digest, from: source)
        guard (try? source.channel(channel)) == digest else {
            return Report(manifest: digest, keyIDs: keys, release: nil)
        }
        let release = try verifier.verifyRelease(channel, naming: digest, from: source,
                                                 accepted: try workspace.acceptedReleases.entry(channel))
        return Report(manifest: digest, keyIDs: keys, release: release.statement)
    }

    private func resolve(_ reference: String?) throws -> Digest {
        guard Store.exists(at: workspace.storeDir) else {
            if let reference { return try Digest(parsing: reference) }
            throw UsageError("no store at \(workspace.storeDir): nothing is active to verify", hint: "name a manifest digest")
        }
        let store = try workspace.openStoreForReading()
        if let reference { return try store.resolveManifest(reference) }
        guard let active = try store.status(modelsDir: workspace.modelsDir).active else {
            throw UsageError("no set is active in \(workspace.modelsDir): nothing to verify", hint: "name a manifest digest")
        }
        return active.manifest
    }
}
