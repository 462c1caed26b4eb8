// INTERFACE SKELETON — to be replaced by the real implementation on the lfs-client branch.
// The signatures below are the contract between the LFS wire client and the git registry integration.

/// One Git LFS object: its oid (the SHA-256 of its bytes, the same name the store uses) and size.
public struct LFSObject: Hashable, Sendable {
    public let oid: Digest
    public let size: UInt64
    public init(oid: Digest, size: UInt64) { self.oid = oid; self.size = size }
}

/// Where the LFS API of a remote is, and the headers its own host gets (an Authorization from `git.token_env`
/// or from `git-lfs-authenticate`). Never sent to any other host.
public struct LFSEndpoint: Sendable {
    /// The API root, e.g. `https://host/org/repo.git/info/lfs`; the batch call is `<url>/objects/batch`.
    public var url: String
    /// Headers for requests to `url`'s host only (secret: never logged).
    public var headers: [(String, String)]
    public init(url: String, headers: [(String, String)] = []) { self.url = url; self.headers = headers }
}

/// Speaks the Git LFS batch API and runs the basic transfers, N at a time.
public final class LFSClient: Sendable {
    public init(endpoint: LFSEndpoint, http: HTTPClient, concurrency: Int = 8,
                refreshEndpoint: (@Sendable () throws -> LFSEndpoint)? = nil) {
        fatalError("skeleton")
    }
    /// Whether the endpoint answers the batch API (for `git.lfs: auto`).
    public func answersBatchAPI() -> Bool { fatalError("skeleton") }
    /// A download batch for `objects`: throws IntegrityError(.missingObject) naming the first the server
    /// cannot serve, with the server's message; remembers the actions for `download`.
    public func checkDownloadable(_ objects: [LFSObject]) throws { fatalError("skeleton") }
    /// Downloads `entries` into `sink`, in parallel, each hashed on the way in.
    public func download(_ entries: [ManifestEntry], into sink: BlobSink) throws { fatalError("skeleton") }
    /// Uploads the entries the server lacks, each verified through `outgoing` just before it is sent.
    @discardableResult
    public func upload(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws -> (objects: Int, bytes: UInt64) {
        fatalError("skeleton")
    }
}
