/// Where a publish writes a model set: a git registry, and later a Git LFS server or an OCI registry.
///
/// Publishing is a compare-and-swap on a channel: each attempt opens a ``PublishSession`` on the destination's
/// current state, uploads what that state lacks, then moves the channel only if nobody moved it meanwhile.
/// ``TransferEngine`` runs the attempts.
public protocol TransferDestination: AnyObject {
    /// Reads the destination's current state (a git registry fetches and fast-forwards) and opens an attempt.
    func beginPublish() throws -> any PublishSession

    /// The error to report when another publisher moved the channel during every attempt; `last` is the
    /// conflict the final attempt met.
    func lostRace(_ last: any Error) -> any Error
}

/// One publish attempt against a fixed state of the destination.
public protocol PublishSession: AnyObject {
    /// The manifest `name` names in this state, nil when the channel does not exist yet.
    func channel(_ name: String) throws -> Digest?

    /// Whether this state holds manifest `digest`.
    func hasManifest(_ digest: Digest) throws -> Bool

    /// Which of `digests` this state lacks — the only blobs the engine will send.
    func missingBlobs(_ digests: [Digest]) throws -> Set<Digest>

    /// Stores one blob, read from the local store, whose digest the engine has just verified.
    func putBlob(_ blob: OutgoingBlob) throws

    /// Stores `entries` (distinct blobs this state lacks), each obtained from `outgoing.verified(_:)` just
    /// before it is sent, reporting bytes with `outgoing.sent(_:)`. A transport that can run uploads in
    /// parallel implements it; the default verifies and puts one blob after another.
    func putBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws

    /// Stores the manifest.
    func putManifest(_ manifest: Manifest) throws

    /// Points channel `name` at `digest` if it still names `expected` (nil: does not exist), after everything
    /// put in this session is durable on the destination. Returns ``ChannelUpdate/conflict(_:)`` when
    /// another publisher moved it first; the engine then starts a new attempt.
    func moveChannel(_ name: String, to digest: Digest, expecting expected: Digest?,
                     summary: PublishSummary) throws -> ChannelUpdate

    /// The bytes of a signature file in this state, nil when absent.
    func signatureBytes(_ file: SignatureFile) throws -> [UInt8]?

    /// Stores a signature file, to land with the channel move (the same commit for a git registry).
    func putSignature(_ file: SignatureFile, bytes: [UInt8]) throws
}

extension PublishSession {
    /// A destination without signature files.
    public func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? { nil }

    /// A destination that cannot hold signatures refuses a signed publish rather than publishing unsigned.
    public func putSignature(_ file: SignatureFile, bytes: [UInt8]) throws {
        throw UsageError("this destination cannot hold signature files (\(file)), and signing.key_file is set",
                         hint: "publish to a git registry, or remove signing.key_file")
    }

    /// One blob after another: verified, then ``putBlob(_:)``.
    public func putBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws {
        for entry in entries {
            try putBlob(try outgoing.verified(entry))
            outgoing.sent(Int64(entry.size))
        }
    }
}

/// A blob leaving the store: its digest and size, and the object file holding it.
public struct OutgoingBlob: Sendable, Hashable {
    /// The blob's digest (checked against the file's bytes just before it is handed out).
    public let digest: Digest
    /// Its size in bytes.
    public let size: UInt64
    /// The read-only object file in the store.
    public let path: String
}

/// What a publish moved, for the destination's record of it (a git commit message).
public struct PublishSummary: Sendable, Equatable {
    /// The manifest published.
    public let manifest: Digest
    /// Files and bytes of the whole set.
    public let files: Int
    public let bytes: UInt64
    /// Blobs this attempt uploaded, and their bytes.
    public let newObjects: Int
    public let newBytes: UInt64
}

/// The outcome of moving a channel.
public enum ChannelUpdate: Sendable {
    /// The channel now names the new manifest; `receipt` identifies the change (a git commit id).
    case moved(receipt: String)
    /// Another publisher moved the channel first; `reason` says how, for the final error.
    case conflict(any Error)
}
