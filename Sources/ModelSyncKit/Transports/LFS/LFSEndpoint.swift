/// Where the LFS API of a remote is, and the headers its own host gets (an Authorization from `git.token_env`
/// or from `git-lfs-authenticate`). Never sent to any other host.
public struct LFSEndpoint: Sendable {
    /// The API root, e.g. `https://host/org/repo.git/info/lfs`; the batch call is `<url>/objects/batch`.
    public var url: String
    /// Headers for requests to `url`'s host only (secret: never logged).
    public var headers: [(String, String)]

    /// An endpoint at `url` whose origin gets `headers`.
    public init(url: String, headers: [(String, String)] = []) {
        self.url = url
        self.headers = headers
    }

    /// `<url>/objects/batch`, whether or not `url` ends with a slash.
    public var batchURL: String {
        (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/objects/batch"
    }

    /// The scheme, host and port the headers belong to (nil when `url` does not parse).
    var origin: String? {
        (try? RemoteURL(url))?.origin
    }
}
