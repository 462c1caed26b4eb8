import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// Cross-repository mounts against a real distribution registry in token mode: the token carries `pull` on
/// the source as well as `pull,push` on the target, and a source the user may not read falls back to an
/// ordinary upload.
@Suite struct OCIClientMountAuthTests {
    static let password = "Mount-pa55-word"

    /// A token server granting `users`, a registry trusting it, and a proxy in front that logs requests.
    struct Setup {
        let tokens: RegistryTokenServer
        let registry: DistributionRegistry
        let proxy: DroppingProxy
        let fixture: OCIFixture
        let entries: [ManifestEntry]

        /// `admin` has pushed the blobs to `team/base` beforehand.
        init(_ users: [RegistryTokenServer.User]) throws {
            tokens = try RegistryTokenServer(users: users + [.init("admin", password: OCIClientMountAuthTests.password)],
                                             anonymousActions: [])
            registry = try DistributionRegistry.start(auth: tokens.registryAuth)
            proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
            fixture = try OCIFixture()
            entries = try fixture.stores.blobs([5000, 150 << 10])
            try OCIFixture.client(registry.host, "team/base", auth: auth("admin"))
                .putBlobs(entries, from: fixture.stores.outgoing(entries))
        }

        func auth(_ user: String) -> OCIAuthenticator {
            OCIAuthenticator(registry: registry.host, credentials: OCICredentials(
                username: user, password: OCIClientMountAuthTests.password, origin: .environment(variable: "PW")),
                http: HTTPClient(connectTimeout: 5, requestTimeout: 20, maxAttempts: 2, sleep: { _ in }))
        }

        /// `user`'s client for `models` through the proxy, mounting from `team/base`, one blob at a time.
        func client(_ user: String) throws -> OCIClient {
            try OCIFixture.client(proxy.host, auth: auth(user), options: OCIFixture.smallChunks {
                $0.mountFrom = ["team/base"]
                $0.concurrency = 1
            })
        }
    }

    @Test("token mode: one token for pull,push here and pull on the source (two scope parameters); blobs mounted, no byte sent")
    func mountWithToken() throws {
        let setup = try Setup([.init("alice", password: Self.password)])
        let client = try setup.client("alice")
        let summary = try client.putBlobs(setup.entries, from: setup.fixture.stores.outgoing(setup.entries))
        #expect(summary.mounted == 2 && summary.uploaded == 0 && summary.uploadedBytes == 0)
        // One mount request per blob: the first token already carried the source's pull, so no 401 to answer.
        #expect(setup.proxy.lines("POST /v2/models/blobs/uploads/?mount=").count == 2, "\(setup.proxy.requestLines)")
        #expect(setup.proxy.lines("POST /v2/models/blobs/uploads/ ").isEmpty)
        #expect(setup.proxy.lines("PATCH ").isEmpty && setup.proxy.lines("PUT ").isEmpty)
        let log = try setup.tokens.requests()
        #expect(log.contains { $0.user == "alice" && $0.scopes == ["repository:models:pull,push", "repository:team/base:pull"] },
                "\(log.map(\.scopes))")
        for entry in setup.entries {
            #expect(try client.blobSize(entry.digest) == entry.size)
        }
    }

    @Test("token mode without pull on the source: the mount is refused once, every blob is uploaded, no error")
    func mountRefusedFallsBack() throws {
        let setup = try Setup([.init("bob", password: Self.password, repositories: ["team/base": []])])
        let client = try setup.client("bob")
        let summary = try client.putBlobs(setup.entries, from: setup.fixture.stores.outgoing(setup.entries))
        #expect(summary.mounted == 0 && summary.uploaded == 2)
        for entry in setup.entries {
            #expect(OCIFixture.stored(setup.registry, entry.digest) == setup.fixture.sourceBytes(entry.digest))
            #expect(try client.blobSize(entry.digest) == entry.size)
        }
        // The first blob's mount met the refusal (and its answered retry); the second blob did not ask again.
        #expect(setup.proxy.lines("POST /v2/models/blobs/uploads/?mount=").count == 2, "\(setup.proxy.requestLines)")
        #expect(setup.proxy.lines("POST /v2/models/blobs/uploads/ ").count == 2)
        let log = try setup.tokens.requests()
        #expect(log.contains { $0.user == "bob" && $0.scopes == ["repository:models:pull,push", "repository:team/base:pull"] })
    }
}
