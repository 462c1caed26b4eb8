import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// A clock the tests move by hand.
final class ManualClock: Sendable {
    private let time = Locked(Date(timeIntervalSince1970: 1_800_000_000))
    var now: @Sendable () -> Date { { self.time.withLock { $0 } } }
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("registry authentication against a token server on 127.0.0.1")
struct OCIAuthenticatorTests {
    static let password = "s3cret-Pa55word"
    let pull = OCIScope(repository: "org/models", actions: ["pull"])
    let push = OCIScope(repository: "org/models", actions: ["pull", "push"])

    var alice: OCICredentials {
        OCICredentials(username: "alice", password: Self.password, origin: .environment(variable: "REGISTRY_PASSWORD"))
    }

    func http() -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 10, maxAttempts: 2, sleep: { _ in })
    }

    func challenge(_ server: RegistryTokenServer, path: String = "/token", scope: String? = nil) -> String {
        var text = #"Bearer realm="\#(server.baseURL)\#(path)",service="\#(server.service)""#
        if let scope { text += #",scope="\#(scope)""# }
        return text
    }

    /// The claims of a JWT (its middle part), to see what the server granted.
    func claims(_ header: String?) throws -> [String: Any] {
        let token = try #require(header?.split(separator: " ").last)
        var payload = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let data = try #require(Data(base64Encoded: payload))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func grantedActions(_ header: String?) throws -> [String] {
        let access = try claims(header)["access"] as? [[String: Any]] ?? []
        return access.flatMap { $0["actions"] as? [String] ?? [] }
    }

    @Test("a Bearer challenge is answered with a token fetched with Basic credentials, service and scope")
    func bearerWithCredentials() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        #expect(auth.authorization(for: push) == nil, "nothing is sent before the registry asks")
        let header = try auth.answer(challenge: challenge(server, scope: push.description), scope: push)
        #expect(header?.hasPrefix("Bearer ") == true)
        #expect(try grantedActions(header) == ["pull", "push"])
        let log = try server.requests()
        #expect(log.count == 1)
        #expect(log[0].user == "alice" && log[0].authorized)
        #expect(log[0].service == server.service)
        #expect(log[0].scopes == ["repository:org/models:pull,push"])
        // Cached per scope: the next request on the scope reuses it without asking again.
        #expect(auth.authorization(for: push) == header)
        #expect(try server.requests().count == 1)
    }

    @Test("without credentials the token is fetched anonymously, and only what anonymous may do is granted")
    func anonymous() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: ["pull"])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: nil, http: http())
        let header = try auth.answer(challenge: challenge(server), scope: push)
        #expect(try grantedActions(header) == ["pull"])
        let log = try server.requests()
        #expect(log.map(\.has_authorization) == [false])
    }

    @Test("tokens are kept per scope: another scope gets its own token from the endpoint already learnt")
    func perScope() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let pullHeader = try auth.answer(challenge: challenge(server), scope: pull)
        let other = OCIScope(repository: "org/other", actions: ["pull", "push"])
        let otherHeader = auth.authorization(for: other)
        #expect(otherHeader != nil && otherHeader != pullHeader)
        #expect(try server.requests().map(\.scopes) == [["repository:org/models:pull"], ["repository:org/other:pull,push"]])
        #expect(auth.authorization(for: pull) == pullHeader)
        #expect(try server.requests().count == 2)
    }

    @Test("a token is fetched again before it expires, not after: expires_in 300 s is refreshed after 270 s")
    func refreshBeforeExpiry() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], expiresIn: 300)
        let clock = ManualClock()
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http(), now: clock.now)
        let first = try auth.answer(challenge: challenge(server), scope: pull)
        clock.advance(269)
        #expect(auth.authorization(for: pull) == first)
        #expect(try server.requests().count == 1)
        clock.advance(2)
        let second = auth.authorization(for: pull)
        #expect(second != nil && second != first)
        #expect(try server.requests().count == 2)
    }

    @Test("without expires_in a token lives 60 s: refreshed after 30 s")
    func defaultLifetime() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], expiresIn: nil)
        let clock = ManualClock()
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http(), now: clock.now)
        let first = try auth.answer(challenge: challenge(server), scope: pull)
        clock.advance(29)
        #expect(auth.authorization(for: pull) == first)
        clock.advance(2)
        #expect(auth.authorization(for: pull) != first)
        #expect(try server.requests().count == 2)
    }

    @Test("an expired token is never sent when no new one can be had")
    func expiredNotSent() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], expiresIn: 100)
        let clock = ManualClock()
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http(), now: clock.now)
        let first = try auth.answer(challenge: challenge(server), scope: pull)
        server.stop()
        clock.advance(60) // due for refresh, the endpoint is gone, still valid: the old token goes
        #expect(auth.authorization(for: pull) == first)
        clock.advance(41)
        #expect(auth.authorization(for: pull) == nil)
    }

    @Test("a 401 is answered with a new token, never the cached one the registry just refused")
    func answerRefetches() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let first = try auth.answer(challenge: challenge(server), scope: pull)
        let second = try auth.answer(challenge: challenge(server) + #",error="invalid_token""#, scope: pull)
        #expect(first != second)
        #expect(try server.requests().count == 2)
    }

    @Test("the scopes a challenge names besides the request's are asked for too (a mount's source)")
    func challengeScopes() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        _ = try auth.answer(challenge: challenge(server, scope: "repository:org/models:pull,push repository:org/base:pull"),
                            scope: push)
        #expect(try server.requests().first?.scopes == ["repository:org/models:pull,push", "repository:org/base:pull"])
        // distribution lists a scope's actions in no fixed order: the same repository is one scope, not two.
        #expect(OCIAuthenticator.merge(push, with: ["repository:org/models:push,pull"]) == ["repository:org/models:pull,push"])
        #expect(OCIAuthenticator.merge(pull, with: ["repository:org/models:delete", "repository:org/models-x:pull"])
                == ["repository:org/models:pull,delete", "repository:org/models-x:pull"])
    }

    @Test("an answer with access_token instead of token is used")
    func accessToken() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], field: "access_token")
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        #expect(try grantedActions(auth.answer(challenge: challenge(server), scope: pull)) == ["pull"])
    }

    @Test("an identity token is sent as an OAuth2 refresh token in a POST, with no Basic header")
    func identityToken() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)],
                                             refreshTokens: ["refresh-abcdef-123456": "alice"])
        let credentials = OCICredentials(username: "<token>", password: "", identityToken: "refresh-abcdef-123456",
                                         origin: .dockerConfig(file: "config.json"))
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: credentials, http: http())
        let header = try auth.answer(challenge: challenge(server), scope: push)
        #expect(try grantedActions(header) == ["pull", "push"])
        let log = try server.requests()
        #expect(log.count == 1)
        #expect(log[0].method == "POST" && log[0].grant_type == "refresh_token" && log[0].user == "alice")
        #expect(!log[0].has_authorization)
    }

    @Test("refused credentials: exit 4, naming the registry, the endpoint, the user and the scope, never the password")
    func refused() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: "another-password")])
        let auth = OCIAuthenticator(registry: "registry.example:5000", credentials: alice, http: http())
        let error = try #require(throws: OCIAuthError.self) {
            try auth.answer(challenge: challenge(server), scope: push)
        }
        #expect(error.code == .refused)
        #expect(error.category.exitCode == 4)
        #expect(error.message == "the token endpoint \(server.realm) of registry registry.example:5000 refused the "
                + "credentials of user alice (from oci.username and REGISTRY_PASSWORD) for repository:org/models:pull,push: "
                + "HTTP 401 (UNAUTHORIZED: authentication failed)")
        #expect(error.hint == "check the password or token in REGISTRY_PASSWORD (oci.password_env) and oci.username, "
                + "and that they may access this repository")
        #expect(!"\(error.message) \(error.hint ?? "") \(error)".contains(Self.password))
    }

    @Test("an anonymous token refused: the hint says to log in")
    func anonymousRefused() throws {
        let server = try RegistryTokenServer(anonymousActions: [])
        let auth = OCIAuthenticator(registry: "ghcr.io", credentials: nil, http: http())
        let error = try #require(throws: OCIAuthError.self) { try auth.answer(challenge: challenge(server), scope: pull) }
        #expect(error.message.contains("refused an anonymous token for repository:org/models:pull"))
        #expect(error.hint == "the registry wants credentials: run `docker login ghcr.io`, or set oci.username and oci.password_env")
    }

    @Test("a token endpoint that quotes the Authorization header back leaks neither the password nor its base64")
    func echoedSecretScrubbed() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let error = try #require(throws: OCIAuthError.self) {
            try auth.answer(challenge: challenge(server, path: "/token-echo"), scope: pull)
        }
        let encoded = Data("alice:\(Self.password)".utf8).base64EncodedString()
        #expect(error.message.contains("bad credentials: Basic [redacted]"))
        #expect(!error.message.contains(Self.password) && !error.message.contains(encoded))
    }

    @Test("credentials go only to the token endpoint's origin: a redirect elsewhere is followed without them")
    func redirectDropsCredentials() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: ["pull"])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let header = try auth.answer(challenge: challenge(server, path: "/token-elsewhere"), scope: push)
        #expect(try grantedActions(header) == ["pull"], "the other origin saw no credentials: an anonymous grant")
        let log = try server.requests()
        #expect(log.map(\.path) == ["/token-elsewhere", "/token"])
        #expect(log.map(\.has_authorization) == [true, false])
    }

    @Test("a failing token endpoint is a remote error (exit 4); an answer without a token too")
    func endpointFailures() throws {
        let server = try RegistryTokenServer(users: [.init("alice", password: Self.password)])
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let failed = try #require(throws: OCIAuthError.self) {
            try auth.answer(challenge: challenge(server, path: "/token-500"), scope: pull)
        }
        #expect(failed.category.exitCode == 4)
        #expect(failed.message.contains("127.0.0.1:5000") && failed.message.contains(server.baseURL + "/token-500"))
        let empty = try #require(throws: OCIAuthError.self) {
            try auth.answer(challenge: challenge(server, path: "/token-empty"), scope: pull)
        }
        #expect(empty.code == .invalidTokenResponse && empty.category.exitCode == 4)
    }

    @Test("a token endpoint over plain http:// on another machine, or another scheme, gets no credentials: exit 2")
    func realmPolicy() throws {
        let auth = OCIAuthenticator(registry: "registry.example", credentials: alice, http: http())
        for realm in ["http://auth.example/token", "ftp://auth.example/token", "file:///etc/passwd"] {
            let error = try #require(throws: OCIAuthError.self) {
                try auth.answer(challenge: #"Bearer realm="\#(realm)",service="s""#, scope: pull)
            }
            #expect(error.code == .refusedRealm && error.category.exitCode == 2)
            #expect(error.message.contains("registry.example") && error.message.contains(realm))
        }
        let insecure = OCIAuthenticator(registry: "registry.example", credentials: alice, insecure: true, http: http())
        #expect(throws: Never.self) { try insecure.checkRealm("http://auth.example/token") }
        #expect(throws: OCIAuthError.self) { try insecure.checkRealm("ftp://auth.example/token") }
    }

    @Test("a Basic challenge is answered with the credentials, which then go with every request; none without them")
    func basic() throws {
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let expected = "Basic " + Data("alice:\(Self.password)".utf8).base64EncodedString()
        #expect(try auth.answer(challenge: #"Basic realm="registry""#, scope: pull) == expected)
        #expect(auth.authorization(for: push) == expected)
        let anonymous = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: nil, http: http())
        #expect(try anonymous.answer(challenge: #"Basic realm="registry""#, scope: pull) == nil)
        #expect(try anonymous.answer(challenge: #"Negotiate abc=="#, scope: pull) == nil)
    }

    @Test("the token request keeps a realm's own query and percent-encodes the parameters")
    func requestShape() {
        let auth = OCIAuthenticator(registry: "127.0.0.1:5000", credentials: alice, http: http())
        let request = auth.tokenRequest(endpoint: .init(realm: "https://auth.example/token?tenant=a", service: "reg istry"),
                                        scopes: ["repository:org/models:pull,push"])
        #expect(request.url == "https://auth.example/token?tenant=a&service=reg%20istry"
                + "&scope=repository%3Aorg%2Fmodels%3Apull%2Cpush&account=alice")
        #expect(request.headers.map(\.0) == ["Authorization"])
    }

    @Test("credentials never show their password: description, debugDescription, dump")
    func credentialsDescription() {
        var dumped = ""
        dump(alice, to: &dumped)
        for text in [alice.description, alice.debugDescription, String(reflecting: alice), "\(alice)", dumped] {
            #expect(!text.contains(Self.password), "\(text)")
        }
        #expect(alice.description == "user alice (from oci.username and REGISTRY_PASSWORD)")
    }
}
