/// Checks an HTTP(S) git remote before libgit2 talks to it: plain `http://` only to this machine (or when
/// allowed), and where its first request redirects before libgit2 sends it a token.
///
/// libgit2 1.5 follows a redirect of the first request to another port or scheme of the same host (another
/// host is refused, ``GitRemote``), and when that server asks for credentials it calls back with the
/// *original* URL, so the callback cannot tell. The probe asks the same first request
/// (`GET <url>/info/refs?service=…`, no credentials) and follows its redirects itself: one that leaves the
/// remote's scheme, host and port is refused before libgit2 runs. A server that redirects only after it
/// authenticated the token gets nothing more: ``GitCredentials`` hands the token out once per operation.
struct RemoteRedirectProbe {
    /// The redirects followed before giving up, as git does.
    static let maxHops = 5

    /// Every request the probe makes (tests count them).
    var http = HTTPClient(connectTimeout: 10, requestTimeout: 30, maxAttempts: 1,
                          urlPolicy: HTTPURLPolicy(allowInsecureHTTP: true))

    /// Throws ``RemoteRedirectError`` when `url` (an http or https remote, used with a token) redirects
    /// `service` (`git-upload-pack`, `git-receive-pack`) to another origin. Anything else — another scheme,
    /// no token, a network failure — returns: libgit2 reports those itself.
    ///
    /// A plain `http://` remote on another machine is refused first (exit 2) unless `allowInsecureHTTP`
    /// (`git.allow_insecure_http`): its registry, and any token, would travel unencrypted.
    func check(remote url: String, service: String, credentials: GitCredentials, repository: String,
               allowInsecureHTTP: Bool = false) throws {
        guard let remote = try? RemoteURL(url), remote.scheme == "http" || remote.scheme == "https" else { return }
        if remote.scheme == "http" && !remote.isLoopback && !allowInsecureHTTP {
            throw UsageError("the git remote \(HTTPError.redact(url)) is plain http:// to \(remote.host): the registry "
                             + "(and any token) would travel unencrypted",
                             hint: "use an https:// URL, or set model_sync.git.allow_insecure_http: true")
        }
        guard credentials.token != nil else { return }
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        var current = HTTPRequest(url: base + "/info/refs?service=" + service)
        for hop in 0...Self.maxHops {
            guard let response = try? http.sendWithoutFollowing(current),
                  HTTPClient.isRedirect(status: response.status),
                  let location = response.headers["location"],
                  let target = try? RemoteURL(current.url).resolving(location) else { return }
            guard target.origin == remote.origin else {
                throw RemoteRedirectError(remote: url, target: target, repository: repository)
            }
            guard hop < Self.maxHops else { return }
            current.url = target.string
        }
    }
}

/// An HTTP(S) git remote that redirects to another scheme, host or port, refused before the token is sent
/// (exit 4): the token is configured for the remote's own origin only.
struct RemoteRedirectError: ModelSyncError {
    let remote: String
    let target: RemoteURL
    let repository: String

    var category: ErrorCategory { .remote }

    var message: String {
        "the git remote \(HTTPError.redact(remote)) redirects to \(target.scheme)://\(target.host):\(target.port), "
            + "another origin; the token (git.token_env) is sent only to the remote's own scheme, host and port"
    }

    var hint: String? {
        let path = target.string.prefix { $0 != "?" }
        let suggested = path.hasSuffix("/info/refs") ? String(path.dropLast("/info/refs".count)) : String(path)
        return "if that server is the registry, use its URL: set repo_url to \(HTTPError.redact(suggested)), and for an "
            + "existing repo_dir run git -C \(repository) remote set-url origin \(HTTPError.redact(suggested))"
    }
}
