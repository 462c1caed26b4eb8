import Foundation

/// Registry authentication as docker, podman, oras and skopeo do it, for one registry.
///
/// - **Bearer** (the distribution token protocol): a `401` names a token endpoint
///   (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`); the token is fetched with
///   `GET realm?service=…&scope=…` with the credentials as HTTP Basic when there are any, anonymously
///   otherwise (public pulls), or with an OAuth2 `POST` of the identity token `docker login` stored. Tokens
///   are kept per scope and fetched anew before they expire, so long transfers never send a stale one.
/// - **Basic**: when the registry itself asks for Basic, the credentials go with every request to it.
/// - **Anonymous**: without credentials and without a challenge, nothing is sent.
///
/// Credentials go only to this registry and to the token endpoint its challenge names, which must be
/// `https://` (or `http://` to this machine, or anywhere with `insecure`); a token is only handed out for
/// requests to this registry, since an authenticator serves one registry. Redirects the token endpoint
/// answers with lose the `Authorization` header when they leave its origin (``HTTPClient``).
///
/// ```swift
/// let credentials = try OCICredentials.resolve(registry: "ghcr.io", username: nil, passwordEnv: nil,
///                                              environment: ProcessInfo.processInfo.environment)
/// let auth = OCIAuthenticator(registry: "ghcr.io", credentials: credentials)
/// ```
public final class OCIAuthenticator: OCIAuthorizing, @unchecked Sendable {
    // @unchecked: the mutable state lives in `state` (a lock); the other properties are constants.

    /// The registry (`host[:port]`) this authenticator serves, for messages.
    public let registry: String
    /// The login, nil for anonymous access.
    public let credentials: OCICredentials?
    /// Whether a token endpoint may be plain `http://` on another machine (`oci.insecure`).
    public let insecure: Bool
    let http: HTTPClient
    let now: @Sendable () -> Date

    /// Where tokens come from, learnt from the registry's first Bearer challenge.
    struct TokenEndpoint: Sendable, Hashable {
        var realm: String
        var service: String?
    }

    private struct State {
        var tokens: [String: OCIToken] = [:]
        var endpoint: TokenEndpoint?
        var basic = false
    }

    private let state = Locked(State())
    /// Serializes token requests: parallel transfers that meet the same challenge wait for one token.
    private let fetching = NSLock()

    /// An authenticator for `registry` with `credentials` (nil: anonymous). `http` is used for the token
    /// endpoint (its CA bundle and timeouts); `now` is the clock tokens expire by.
    public init(registry: String, credentials: OCICredentials?, insecure: Bool = false,
                http: HTTPClient = HTTPClient(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.registry = registry
        self.credentials = credentials
        self.insecure = insecure
        var http = http
        http.urlPolicy = HTTPURLPolicy(allowInsecureHTTP: insecure)
        http.maxResponseBytes = min(http.maxResponseBytes, 1 << 20)
        self.http = http
        self.now = now
    }

    /// The header for a request on `scope`: Basic when the registry asked for it; a cached token while it
    /// is fresh; a new token once the registry's token endpoint is known and the cached one is due for
    /// refresh (the old one while it is still valid, should that fail); nil before any challenge.
    public func authorization(for scope: OCIScope) -> String? {
        let key = scope.description
        let (basic, cached, endpoint) = state.withLock { ($0.basic, $0.tokens[key], $0.endpoint) }
        if basic { return credentials?.basicAuthorization }
        let time = now()
        if let cached, !cached.needsRefresh(at: time) { return "Bearer " + cached.value }
        if let endpoint, let token = try? refreshToken(endpoint: endpoint, scopes: scope.parameters, key: key) {
            return "Bearer " + token.value
        }
        if let cached, cached.isUsable(at: time) { return "Bearer " + cached.value }
        return nil
    }

    /// The header answering a `401`'s `WWW-Authenticate` value for `scope`: a fresh token from the Bearer
    /// challenge's endpoint (for `scope` and any other scope the challenge names, such as the source of a
    /// cross-repository mount), or the Basic credentials; nil when no credentials can answer a Basic challenge
    /// or the scheme is unknown. Throws ``OCIAuthError`` when the endpoint refuses or cannot be used.
    public func answer(challenge: String, scope: OCIScope) throws -> String? {
        let challenges = OCIChallenge.parse(challenge)
        if let bearer = challenges.first(where: { $0.isBearer && !($0.realm ?? "").isEmpty }) {
            let endpoint = TokenEndpoint(realm: bearer.realm ?? "", service: bearer.service)
            try checkRealm(endpoint.realm)
            state.withLock {
                $0.endpoint = endpoint
                $0.basic = false
            }
            let key = scope.description
            let scopes = Self.merge(scope, with: bearer.scopes)
            // Never the cached token: the registry has just refused whatever this request carried.
            return "Bearer " + (try fetchAndStore(endpoint: endpoint, scopes: scopes, key: key)).value
        }
        if challenges.contains(where: \.isBasic), let credentials {
            state.withLock { $0.basic = true }
            return credentials.basicAuthorization
        }
        return nil
    }

    /// The scopes to ask a token for: `scope`'s parameters with the actions the challenge adds for each of
    /// their repositories (the registry lists actions in no fixed order: `push,pull`), then the challenge's
    /// other scopes (a mount's source repository, when the request did not name it).
    static func merge(_ scope: OCIScope, with challenged: [String]) -> [String] {
        var merged: [(repository: String, actions: [String])] = ([scope] + scope.also).map { ($0.repository, $0.actions) }
        var others: [String] = []
        for text in challenged {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "repository",
               let index = merged.firstIndex(where: { $0.repository == parts[1] }) {
                for action in parts[2].split(separator: ",").map(String.init) where !merged[index].actions.contains(action) {
                    merged[index].actions.append(action)
                }
            } else if !others.contains(text) {
                others.append(text)
            }
        }
        return merged.map { OCIScope(repository: $0.repository, actions: $0.actions).description } + others
    }

    /// A token for `key` from `endpoint`, unless another thread fetched one while this one waited.
    private func refreshToken(endpoint: TokenEndpoint, scopes: [String], key: String) throws(OCIAuthError) -> OCIToken {
        fetching.lock()
        defer { fetching.unlock() }
        if let cached = state.withLock({ $0.tokens[key] }), !cached.needsRefresh(at: now()) { return cached }
        return try fetchLocked(endpoint: endpoint, scopes: scopes, key: key)
    }

    private func fetchAndStore(endpoint: TokenEndpoint, scopes: [String], key: String) throws(OCIAuthError) -> OCIToken {
        fetching.lock()
        defer { fetching.unlock() }
        return try fetchLocked(endpoint: endpoint, scopes: scopes, key: key)
    }

    private func fetchLocked(endpoint: TokenEndpoint, scopes: [String], key: String) throws(OCIAuthError) -> OCIToken {
        let token = try requestToken(endpoint: endpoint, scopes: scopes)
        state.withLock { $0.tokens[key] = token }
        return token
    }

    /// Refuses a token endpoint credentials must not be sent to: anything but `https://`, `http://` to this
    /// machine, or plain `http://` anywhere when `insecure`.
    func checkRealm(_ realm: String) throws(OCIAuthError) {
        do throws(HTTPError) {
            _ = try http.urlPolicy.check(realm, method: "GET")
        } catch {
            throw OCIAuthError(.refusedRealm,
                               "the registry \(registry) names the token endpoint \(HTTPError.redact(realm)), "
                                   + "which model-sync does not send credentials to: \(error.detail)",
                               hint: "the token endpoint must be https:// (or http:// on this machine); "
                                   + "set oci.insecure: true only on a network you trust")
        }
    }
}
