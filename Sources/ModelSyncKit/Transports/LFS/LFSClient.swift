import Foundation

/// Speaks the Git LFS batch API and runs the basic transfers, N at a time
/// (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md).
///
/// - The endpoint's headers go only to the endpoint's origin (scheme, host and port); an action's headers
///   go only to its href, as the server gave them. Redirects to another origin drop every header
///   (``HTTPClient``).
/// - Only `https://` hrefs are followed, and `http://` to loopback (or anywhere when the client's
///   ``HTTPURLPolicy`` allows insecure HTTP).
/// - Downloads stream into the store's ``IncomingBlob``s, which hash them on the way in; a dropped transfer
///   resumes with a Range request. Uploads stream from the store's files and are retried from their first
///   byte. An action that expired, or whose href refuses its credentials, is replaced by a new batch call.
///
/// ```swift
/// let client = LFSClient(endpoint: LFSEndpoint(url: "https://host/org/repo.git/info/lfs",
///                                              headers: [("Authorization", "Bearer \(token)")]),
///                        http: HTTPClient(), concurrency: 8)
/// try client.upload(entries, from: outgoing)
/// ```
public final class LFSClient: Sendable {
    /// The media type of batch requests and answers.
    static let mediaType = "application/vnd.git-lfs+json"
    /// The batch API's limit on objects per request (what git-lfs sends; servers may refuse more).
    static let batchSize = 100

    let http: HTTPClient
    /// How many transfers run at once.
    public let concurrency: Int
    /// Seconds a transfer may move no byte before it is dropped and resumed.
    public let stallTimeout: Double
    private let refreshEndpoint: (@Sendable () throws -> LFSEndpoint)?
    private let endpointState: Locked<LFSEndpoint>
    /// Download actions of the last batch calls, by oid, until used or expired.
    let downloadActions = Locked<[Digest: LFSAction]>([:])
    /// Upload and verify actions remembered by ``missingObjects(_:)``, by oid.
    let uploadActions = Locked<[Digest: [String: LFSAction]]>([:])
    /// Objects of at least this many bytes are downloaded in byte ranges at once (``SegmentPlan``).
    public let segmentThreshold: UInt64
    /// The smallest segment: a range request costs a round trip, so small ranges are not worth it.
    public let minimumSegment: UInt64
    /// Set once the server answered a range request with the whole body: later objects come in one stream.
    let rangesIgnored = Locked(false)

    /// A client for `endpoint`; `refreshEndpoint` gives a new endpoint (new headers) when the server
    /// refuses the current one's credentials, as `git-lfs-authenticate`'s expire.
    public init(endpoint: LFSEndpoint, http: HTTPClient, concurrency: Int = 8,
                refreshEndpoint: (@Sendable () throws -> LFSEndpoint)? = nil, stallTimeout: Double = 60,
                segmentThreshold: UInt64 = 32 << 20, minimumSegment: UInt64 = 8 << 20) {
        self.segmentThreshold = segmentThreshold
        self.minimumSegment = minimumSegment
        self.endpointState = Locked(endpoint)
        self.http = http
        self.concurrency = max(1, concurrency)
        self.refreshEndpoint = refreshEndpoint
        self.stallTimeout = stallTimeout
    }

    /// The endpoint in use (replaced when refreshed).
    public var endpoint: LFSEndpoint { endpointState.withLock { $0 } }

    /// Replaces the endpoint with a fresh one from `refreshEndpoint`; false when there is none.
    func refreshedEndpoint() throws -> Bool {
        guard let refreshEndpoint else { return false }
        let fresh = try refreshEndpoint()
        endpointState.withLock { $0 = fresh }
        return true
    }

    /// Whether the endpoint answers the batch API (for `git.lfs: auto`).
    ///
    /// Asks for one object (the empty blob) and looks at the answer's form, not only its status: an LFS
    /// server answers JSON even when it refuses (giftless answers a batch of unknown objects with a 404 and
    /// a JSON message; a 401 for missing credentials is JSON too), where a host without the API answers an
    /// HTML or plain text page.
    public func answersBatchAPI() -> Bool {
        let endpoint = self.endpoint
        let request = HTTPRequest(method: "POST", url: endpoint.batchURL,
                                  headers: endpoint.headers + [("Accept", Self.mediaType), ("Content-Type", Self.mediaType)],
                                  body: LFSBatchRequest(.download, [LFSObject(oid: .empty, size: 0)]).body)
        var probe = http
        probe.maxAttempts = min(http.maxAttempts, 2)
        guard let response = try? probe.send(request) else { return false }
        let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        switch response.status {
        case 200...299: return json?["objects"] is [Any]
        case 401, 403, 404, 422: return json?["message"] is String
        default: return false
        }
    }

    /// The headers for a transfer to `action.href`: the action's own, plus the endpoint's when the href is
    /// on the endpoint's origin (the action's win on a name both give). Throws when the href may not be
    /// followed at all.
    func headers(for action: LFSAction, of object: LFSObject) throws -> [(String, String)] {
        let target: RemoteURL
        do {
            target = try RemoteURL(action.href)
        } catch {
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) gave an invalid URL for object \(object.oid)")
        }
        let allowed = target.scheme == "https"
            || (target.scheme == "http" && (target.isLoopback || http.urlPolicy.allowInsecureHTTP))
        guard allowed else {
            throw LFSError(.refusedHref,
                           "the LFS server at \(describeEndpoint) sent \(HTTPError.redact(action.href)) for object "
                           + "\(object.oid): only https:// (or http:// to this machine) is followed",
                           hint: "the LFS server must hand out https:// transfer URLs; check its configured base URL")
        }
        var headers: [(String, String)] = []
        let endpoint = self.endpoint
        if target.origin == endpoint.origin {
            let given = Set(action.header.keys.map { $0.lowercased() })
            headers = endpoint.headers.filter { !given.contains($0.0.lowercased()) }
        }
        headers += action.header.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return headers
    }

    /// The endpoint's URL without credentials, for messages.
    var describeEndpoint: String { HTTPError.redact(endpoint.url) }

    /// Each object once, the empty one left out: no server stores it, every client has it.
    static func distinct(_ entries: [ManifestEntry]) -> [ManifestEntry] {
        var seen = Set<Digest>()
        return entries.filter { $0.size > 0 && seen.insert($0.digest).inserted }
    }
}
