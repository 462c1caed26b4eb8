import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// How the client authenticates: the scope of each request, the answered challenge, and credentials that
/// never reach a message.
@Suite struct OCIClientAuthTests {
    @Test("a 401 challenge is answered and every transfer retried once with the answer, over TLS")
    func challengeAnsweredOverTLS() throws {
        let registry = try DistributionRegistry.start(tls: true, auth: .htpasswd(user: "fleet", password: "s3cret-pw"))
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([1000, 200 << 10])
        let auth = FixedAuthorizer.basic("fleet", "s3cret-pw")
        let options = OCIFixture.smallChunks { $0.caBundle = registry.caBundle }
        let client = try OCIFixture.client(registry.host, auth: auth, options: options)
        #expect(client.baseURL == registry.baseURL)  // a CA bundle makes a loopback registry https://
        try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        try client.fetchBlobs(entries, into: fixture.stores.sink(entries))
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.stores.destination, entry.digest) == fixture.sourceBytes(entry.digest))
        }
        #expect(auth.challenges.first == #"Basic realm="model-sync-test""#)
        #expect(Set(auth.scopes).isSubset(of: ["repository:models:pull", "repository:models:pull,push"]))
        #expect(auth.scopes.contains("repository:models:pull,push"))
        #expect(auth.scopes.contains("repository:models:pull"))
    }

    @Test("each request asks for its own scope: pull to read, pull,push to write, delete to delete")
    func scopes() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let auth = FixedAuthorizer()
        let client = try OCIFixture.client(registry.host, auth: auth)
        let config = try client.putBlob(bytes: Array("{}".utf8))
        #expect(Set(auth.scopes) == ["repository:models:pull", "repository:models:pull,push"])
        let before = auth.scopes.count
        _ = try client.tags()
        _ = try client.manifest("latest")
        _ = try client.blobBytes(config, maxBytes: 10)
        #expect(Set(auth.scopes.dropFirst(before)) == ["repository:models:pull"])
        let digest = try client.putManifest(OCIFixture.imageManifest(config: config, configSize: 2, layers: []),
                                            mediaType: OCIImageManifest.mediaType, reference: "v1")
        let beforeDelete = auth.scopes.count
        try client.deleteManifest(digest)
        #expect(auth.scopes.dropFirst(beforeDelete) == ["repository:models:delete"])
        _ = fixture
    }

    @Test("refused credentials fail with UNAUTHORIZED, exit 4, and no credential in the message")
    func refusedCredentials() throws {
        let registry = try DistributionRegistry.start(auth: .htpasswd(user: "fleet", password: "right-password"))
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([500])
        let header = "Basic " + Data("fleet:wrong-password".utf8).base64EncodedString()
        for auth in [FixedAuthorizer(header: header), FixedAuthorizer(header: header, eager: true), FixedAuthorizer()] {
            let client = try OCIFixture.client(registry.host, auth: auth)
            let error = try #require(throws: OCIError.self) { try client.putBlobs(entries, from: fixture.stores.outgoing(entries)) }
            #expect(error.status == 401)
            #expect(error.has("UNAUTHORIZED"))
            #expect(error.category.exitCode == 4)
            #expect(error.hint?.contains("oci.password_env") == true)
            for text in [error.message, error.hint ?? ""] {
                #expect(!text.contains(header) && !text.contains("wrong-password") && !text.contains("Basic "))
            }
            let pull = try #require(throws: OCIError.self) { try client.fetchBlobs(entries, into: fixture.stores.sink(entries)) }
            #expect(pull.has("UNAUTHORIZED"))
            #expect(!pull.message.contains(header))
        }
    }

    @Test("plain HTTP is used for loopback only, unless insecure is set")
    func schemeChoice() throws {
        let auth = FixedAuthorizer()
        #expect(try OCIClient(reference: OCIReference(parsing: "127.0.0.1:5000/m"), auth: auth).baseURL == "http://127.0.0.1:5000")
        #expect(try OCIClient(reference: OCIReference(parsing: "ghcr.io/acme/m"), auth: auth).baseURL == "https://ghcr.io")
        var insecure = OCIClientOptions()
        insecure.insecure = true
        #expect(try OCIClient(reference: OCIReference(parsing: "registry.lan:5000/m"), auth: auth, options: insecure).baseURL
                == "http://registry.lan:5000")
        var forced = OCIClientOptions()
        forced.plainHTTP = true
        let error = try #require(throws: ConfigError.self) {
            try OCIClient(reference: OCIReference(parsing: "registry.lan/m"), auth: auth, options: forced)
        }
        #expect(error.message == "model_sync.oci.reference: plain HTTP to registry.lan is refused (only to this machine)")
        var mounts = OCIClientOptions()
        mounts.mountFrom = ["Bad Name"]
        #expect(throws: ConfigError.self) { try OCIClient(reference: OCIReference(parsing: "ghcr.io/a/b"), auth: auth, options: mounts) }
    }
}
