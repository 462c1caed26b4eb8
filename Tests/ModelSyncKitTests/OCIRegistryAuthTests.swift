import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// The authenticator against a real CNCF distribution registry: token mode with the test token server, and
/// htpasswd Basic behind TLS with a CA of its own.
@Suite("registry authentication against a real distribution registry")
struct OCIRegistryAuthTests {
    static let password = "Regi5try-pa55"

    /// Sends `request` as a registry client does: with the current header for `scope`, and once more with the
    /// answer to a 401's challenge.
    func send(_ request: HTTPRequest, scope: OCIScope, auth: OCIAuthenticator, http: HTTPClient) throws -> HTTPResponse {
        var request = request
        if let header = auth.authorization(for: scope) { request.headers.append(("Authorization", header)) }
        var response = try http.send(request)
        if response.status == 401, let challenge = response.headers["www-authenticate"],
           let header = try auth.answer(challenge: challenge, scope: scope) {
            request.headers.removeAll { $0.0 == "Authorization" }
            request.headers.append(("Authorization", header))
            response = try http.send(request)
        }
        return response
    }

    /// Uploads `bytes` as a blob of `repository` (POST, then PUT with the digest) and returns its digest.
    func pushBlob(_ bytes: [UInt8], repository: String, registry: DistributionRegistry, auth: OCIAuthenticator,
                  http: HTTPClient) throws -> (status: Int, digest: String) {
        let scope = OCIScope(repository: repository, actions: ["pull", "push"])
        let started = try send(HTTPRequest(method: "POST", url: registry.baseURL + "/v2/\(repository)/blobs/uploads/", body: []),
                               scope: scope, auth: auth, http: http)
        let digest = "sha256:" + SHA256.hash(bytes).hex
        guard started.status == 202, let location = started.headers["location"] else { return (started.status, digest) }
        let url = try RemoteURL(registry.baseURL).resolving(location).string
        let put = try send(HTTPRequest(method: "PUT", url: url + (url.contains("?") ? "&" : "?") + "digest=\(digest)",
                                       headers: [("Content-Type", "application/octet-stream")], body: bytes),
                           scope: scope, auth: auth, http: http)
        return (put.status, digest)
    }

    func http(caBundle: String? = nil) -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 20, caBundle: caBundle, maxAttempts: 2, sleep: { _ in })
    }

    @Test("token mode: a pusher's token uploads a blob; an anonymous puller reads it; a pull-only user cannot push")
    func tokenMode() throws {
        let tokens = try RegistryTokenServer(users: [.init("alice", password: Self.password),
                                                     .init("bob", password: Self.password + "b", actions: ["pull"])],
                                             anonymousActions: ["pull"])
        let registry = try DistributionRegistry.start(auth: tokens.registryAuth)
        let client = http()
        let alice = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "alice", password: Self.password, origin: .environment(variable: "PW")), http: client)
        let bytes = Array("model weights".utf8)
        let pushed = try pushBlob(bytes, repository: "org/models", registry: registry, auth: alice, http: client)
        #expect(pushed.status == 201)
        #expect(registry.storedBlobs().contains(String(pushed.digest.dropFirst(7))))

        let anonymous = OCIAuthenticator(registry: registry.host, credentials: nil, http: client)
        let pull = OCIScope(repository: "org/models", actions: ["pull"])
        let read = try send(HTTPRequest(url: registry.baseURL + "/v2/org/models/blobs/\(pushed.digest)"),
                            scope: pull, auth: anonymous, http: client)
        #expect(read.status == 200 && read.body == bytes)

        let bob = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "bob", password: Self.password + "b", origin: .environment(variable: "PW")), http: client)
        let refused = try pushBlob(Array("other".utf8), repository: "org/models", registry: registry, auth: bob, http: client)
        #expect(refused.status == 401, "the registry refuses bob's pull-only token for a push")
        let log = try tokens.requests()
        #expect(log.contains { $0.user == "bob" && $0.scopes == ["repository:org/models:pull,push"] }, "\(log)")
        #expect(log.filter { $0.user == nil }.allSatisfy { !$0.has_authorization })
    }

    @Test("token mode: wrong credentials fail at the token endpoint with exit 4 and the registry named, no secret")
    func tokenModeRefused() throws {
        let tokens = try RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: [])
        let registry = try DistributionRegistry.start(auth: tokens.registryAuth)
        let client = http()
        let auth = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "alice", password: "wrong-password-42", origin: .dockerConfig(file: "/home/u/.docker/config.json")),
            http: client)
        let error = try #require(throws: OCIAuthError.self) {
            _ = try pushBlob([1, 2, 3], repository: "org/models", registry: registry, auth: auth, http: client)
        }
        #expect(error.category.exitCode == 4)
        #expect(error.message.contains("registry \(registry.host)") && error.message.contains(tokens.realm))
        #expect(!error.message.contains("wrong-password-42"))
        #expect(error.hint == "run `docker login \(registry.host)` again (the credentials come from "
                + "/home/u/.docker/config.json), or set oci.username and oci.password_env")
    }

    @Test("with the OCI client: a token due for refresh is replaced before the request, not after a 401")
    func clientRefreshesBeforeExpiry() throws {
        let tokens = try RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: [],
                                             expiresIn: 120)
        let registry = try DistributionRegistry.start(auth: tokens.registryAuth)
        let clock = ManualClock()
        let auth = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "alice", password: Self.password, origin: .environment(variable: "PW")), http: http(), now: clock.now)
        let client = try OCIClient(reference: OCIReference(parsing: "\(registry.host)/org/models"), auth: auth)
        let digest = try client.putBlob(bytes: Array("config".utf8))
        let afterPush = try tokens.requests().count
        #expect(try client.blobSize(digest) == 6)
        #expect(try tokens.requests().count == afterPush, "the pull token of the push's HEAD is reused")
        let refusals = { String(decoding: registry.directory.read("registry.log"), as: UTF8.self)
            .split(separator: "\n").filter { $0.contains("msg=\"error authorizing context") }.count }
        let refusedBefore = refusals()
        #expect(refusedBefore >= 1, "the first request met the challenge")
        clock.advance(95) // past 120 - 30 s: due for refresh, still valid
        #expect(try client.blobSize(digest) == 6)
        let log = try tokens.requests()
        #expect(log.count == afterPush + 1, "\(log.map { ($0.method, $0.scopes) })")
        #expect(log.last?.scopes == ["repository:org/models:pull"] && log.last?.user == "alice")
        #expect(refusals() == refusedBefore, "the refreshed token went with the request: no 401")
    }

    @Test("htpasswd behind TLS: the Basic challenge is answered, the CA bundle verifies the registry; wrong password stays 401")
    func basicOverTLS() throws {
        let registry = try DistributionRegistry.start(tls: true, auth: .htpasswd(user: "alice", password: Self.password))
        let client = http(caBundle: registry.caBundle)
        let auth = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "alice", password: Self.password, origin: .environment(variable: "PW")), http: client)
        let pushed = try pushBlob(Array("tls bytes".utf8), repository: "org/models", registry: registry, auth: auth, http: client)
        #expect(pushed.status == 201)
        let wrong = OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
            username: "alice", password: "not-the-password", origin: .environment(variable: "PW")), http: client)
        let refused = try send(HTTPRequest(url: registry.baseURL + "/v2/"), scope: OCIScope(repository: "org/models", actions: ["pull"]),
                               auth: wrong, http: client)
        #expect(refused.status == 401)
    }
}
