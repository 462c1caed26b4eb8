import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// Manifests, tags and deletes against a real distribution registry, and a stub serving an endless manifest.
@Suite struct OCIClientManifestTests {
    /// Pushes a config blob and `layers`, and returns the manifest naming them.
    private func manifest(_ client: OCIClient, _ fixture: OCIFixture, layers sizes: [Int], seed: UInt64 = 1,
                          padding: Int = 0) throws -> [UInt8] {
        let entries = try fixture.stores.blobs(sizes, seed: seed)
        try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        let config = Array(#"{"seed":\#(seed)}"#.utf8)
        let digest = try client.putBlob(bytes: config)
        return OCIFixture.imageManifest(config: digest, configSize: config.count, layers: entries, padding: padding)
    }

    @Test("a manifest pushed under a tag is read back by tag and by digest, byte for byte")
    func pushAndFetch() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let client = try OCIFixture.client(registry.host)
        let bytes = try manifest(client, fixture, layers: [100, 2000])
        let digest = try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
        #expect(digest == SHA256.hash(bytes))
        let byTag = try #require(try client.manifest("latest"))
        #expect(byTag == OCIStoredManifest(bytes: bytes, mediaType: OCIImageManifest.mediaType, digest: digest))
        #expect(try client.manifest(digest.description) == byTag)
        #expect(try client.manifest("nope") == nil)
        #expect(try OCIFixture.client(registry.host, "never/pushed").manifest("latest") == nil)
        // Pushed by its digest too, as every set is.
        #expect(try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: digest.description) == digest)
    }

    @Test("a manifest over the size cap is refused, exit 3, after reading no more than the cap")
    func manifestOverCap() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let client = try OCIFixture.client(registry.host)
        let bytes = try manifest(client, fixture, layers: [10], padding: 5000)
        try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: "big")
        let capped = try OCIFixture.client(registry.host, options: OCIFixture.smallChunks { $0.maxManifestBytes = 4096 })
        let error = try #require(throws: OCIError.self) { try capped.manifest("big") }
        #expect(error.code == .manifestTooLarge)
        #expect(error.category.exitCode == 3)
        #expect(error.message == "manifest big of \(registry.host)/models is larger than the 4096 bytes model-sync accepts; refused")
        #expect(try client.manifest("big")?.bytes == bytes)
    }

    @Test("an endless manifest without Content-Length is cut at the cap")
    func endlessManifest() throws {
        let server = try LoopbackHTTPServer()
        let client = try OCIFixture.client("127.0.0.1:\(server.port)", "huge/models",
                                           options: OCIFixture.smallChunks { $0.maxManifestBytes = 1 << 20 })
        let started = Date()
        let error = try #require(throws: OCIError.self) { try client.manifest("latest") }
        #expect(error.code == .manifestTooLarge)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a manifest whose bytes do not match its digest is an integrity error")
    func manifestDigestChecked() throws {
        let server = try LoopbackHTTPServer()
        let client = try OCIFixture.client("127.0.0.1:\(server.port)", "wrong/models")
        // The registry names another digest than its bytes', by tag and by the digest asked for.
        #expect(throws: IntegrityError.self) { try client.manifest("latest") }
        let error = try #require(throws: IntegrityError.self) { try client.manifest("sha256:" + String(repeating: "0", count: 64)) }
        #expect(error.category.exitCode == 3)
        #expect(error.message.contains("the registry sent bytes that hash to \(SHA256.hash(Array(#"{"schemaVersion":2}"#.utf8)))"))
    }

    @Test("the tag list follows the registry's Link pages")
    func tagPagination() throws {
        let server = try LoopbackHTTPServer()
        let client = try OCIFixture.client("127.0.0.1:\(server.port)", "paged/models",
                                           options: OCIFixture.smallChunks { $0.tagsPageSize = 3 })
        #expect(try client.tags() == (0..<7).map { "t\($0)" })
        #expect(OCIClient.nextPage(#"</v2/a/tags/list?n=2&last=b>; rel="next""#) == "/v2/a/tags/list?n=2&last=b")
        #expect(OCIClient.nextPage(#"<https://x/a>; rel="prev", <https://x/b>; rel=next"#) == "https://x/b")
        #expect(OCIClient.nextPage(#"<https://x/a>; rel="prev""#) == nil)
    }

    @Test("the tag list of a real registry; empty for a repository it does not know")
    func tagList() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let client = try OCIFixture.client(registry.host)
        #expect(try client.tags() == [])
        let bytes = try manifest(client, fixture, layers: [10])
        let names = ["latest", "sha256-abc", "v1"]
        for name in names { try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: name) }
        #expect(try client.tags().sorted() == names)
    }

    @Test("deleting a manifest by digest removes it and its tags; deleting it again is not an error")
    func deleteManifest() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let client = try OCIFixture.client(registry.host)
        let first = try client.putManifest(try manifest(client, fixture, layers: [10], seed: 1),
                                           mediaType: OCIImageManifest.mediaType, reference: "old")
        let second = try client.putManifest(try manifest(client, fixture, layers: [20], seed: 2),
                                            mediaType: OCIImageManifest.mediaType, reference: "latest")
        try client.deleteManifest(first)
        #expect(try client.manifest(first.description) == nil)
        #expect(try client.manifest("old") == nil)
        #expect(try client.manifest("latest")?.digest == second)
        #expect(try client.tags() == ["latest"])
        try client.deleteManifest(first)
    }

    @Test("the registry's own error codes and messages are in the error, exit 4, with a hint")
    func registryErrorCodes() throws {
        let registry = try DistributionRegistry.start()
        let client = try OCIFixture.client(registry.host)
        let missing = LFSFixture.entry(for: Array("absent".utf8))
        let bytes = OCIFixture.imageManifest(config: missing.digest, configSize: 6, layers: [missing])
        let error = try #require(throws: OCIError.self) {
            try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
        }
        #expect(error.has("MANIFEST_BLOB_UNKNOWN"))
        #expect(error.status == 400)
        #expect(error.category.exitCode == 4)
        #expect(error.message.hasPrefix("pushing manifest latest to \(registry.host)/models failed (PUT \(registry.baseURL)/v2/models/manifests/latest): HTTP 400: MANIFEST_BLOB_UNKNOWN: blob unknown to registry"))
        // The registry repeats the code for each blob it lacks: quoted once.
        #expect(!error.message.hasSuffix("; MANIFEST_BLOB_UNKNOWN: blob unknown to registry"))
        #expect(error.hint == "a blob the manifest needs is not in the registry; publish the set again")
        #expect(throws: OCIError.self) { try client.manifest("../../etc") }
    }

    @Test("the media type comes from Content-Type, or from the manifest when the header is generic")
    func mediaTypeOfAnswer() {
        let body = Array(#"{"mediaType":"application/vnd.oci.image.index.v1+json"}"#.utf8)
        func answer(_ type: String?) -> HTTPResponse {
            HTTPResponse(status: 200, headers: type.map { ["content-type": $0] } ?? [:], body: body)
        }
        #expect(OCIClient.mediaType(of: answer("application/vnd.oci.image.manifest.v1+json; charset=utf-8"))
                == OCIImageManifest.mediaType)
        #expect(OCIClient.mediaType(of: answer(nil)) == OCIImageManifest.indexMediaType)
        #expect(OCIClient.mediaType(of: answer("application/json")) == OCIImageManifest.indexMediaType)
    }
}
