import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// Downloads from a real distribution registry (and a stub for redirects): streamed into the store, verified,
/// resumed after a drop, never carrying the registry's credentials to another origin.
@Suite struct OCIClientDownloadTests {
    /// A registry holding `sizes` blobs pushed from the fixture's source store.
    private func published(_ sizes: [Int]) throws -> (DistributionRegistry, DroppingProxy, OCIFixture, [ManifestEntry]) {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs(sizes)
        try OCIFixture.client(registry.host).putBlobs(entries, from: fixture.stores.outgoing(entries))
        return (registry, proxy, fixture, entries)
    }

    @Test("blobs are fetched in parallel into the store, byte for byte")
    func parallelDownload() throws {
        let (registry, proxy, fixture, entries) = try published([0, 10, 70_000, 300 << 10, 1 << 20, 5000])
        defer { registry.stop() }  // held to the end: the registry stops when released
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.concurrency = 4 })
        try client.fetchBlobs(entries + entries.prefix(2), into: fixture.stores.sink(entries))
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.stores.destination, entry.digest) == fixture.sourceBytes(entry.digest))
        }
        // Each blob once, the empty one not at all.
        #expect(proxy.lines("GET /v2/models/blobs/sha256:").count == entries.count - 1)
    }

    @Test("a large blob comes as byte ranges at once, one of them resumed after a drop")
    func segmentedDownload() throws {
        let (registry, proxy, fixture, entries) = try published([1 << 20, 1000])
        defer { registry.stop() }
        // The second range's connection is cut halfway through its 256 KiB.
        proxy.drop(requestsStartingWith: "GET /v2/models/blobs/\(entries[0].digest)", after: 128 << 10, of: .response, skip: 1)
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks {
            $0.concurrency = 4
            $0.segmentThreshold = 512 << 10
            $0.minimumSegment = 64 << 10
        })
        try client.fetchBlobs(entries, into: fixture.stores.sink(entries))
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.stores.destination, entry.digest) == fixture.sourceBytes(entry.digest))
        }
        #expect(proxy.cutCount == 1)
        #expect(proxy.lines("GET /v2/models/blobs/\(entries[0].digest)").count == 4 + 1)
    }

    @Test("blob storage that ignores Range gets a segmented blob fetched in one stream instead")
    func rangesIgnoredFallBack() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try OCIFixture()
        let bytes = pseudoRandomBytes(count: 300 << 10, seed: 9)
        let entry = LFSFixture.entry(for: bytes)
        _ = try HTTPClient().send(HTTPRequest(method: "PUT", url: "\(server.baseURL)/oci-storage/\(entry.digest)", body: bytes))
        let client = try OCIFixture.client("127.0.0.1:\(server.port)", "redirect/models", auth: FixedAuthorizer.basic("a", "b"),
                                           options: OCIFixture.smallChunks { $0.segmentThreshold = 100 << 10; $0.minimumSegment = 50 << 10 })
        try client.fetchBlobs([entry], into: fixture.stores.sink([entry]))
        #expect(LFSFixture.bytes(fixture.stores.destination, entry.digest) == bytes)
        #expect(client.rangesIgnored.withLock { $0 })
    }

    @Test("a download cut mid-body resumes with Range from the bytes received")
    func downloadResumes() throws {
        let (registry, proxy, fixture, entries) = try published([600 << 10])
        defer { registry.stop() }
        proxy.drop(requestsStartingWith: "GET /v2/models/blobs/sha256:", after: 200 << 10, of: .response)
        try OCIFixture.client(proxy.host).fetchBlobs(entries, into: fixture.stores.sink(entries))
        #expect(proxy.cutCount == 1)
        #expect(proxy.lines("GET /v2/models/blobs/").count == 2)
        #expect(LFSFixture.bytes(fixture.stores.destination, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
    }

    @Test("a download that stalls is dropped after the stall timeout and resumed with Range")
    func stalledDownloadResumes() throws {
        let (registry, proxy, fixture, entries) = try published([400 << 10])
        defer { registry.stop() }
        proxy.drop(requestsStartingWith: "GET /v2/models/blobs/sha256:", after: 100 << 10, of: .response, stall: true)
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.stallTimeout = 1 })
        try client.fetchBlobs(entries, into: fixture.stores.sink(entries))
        #expect(proxy.lines("GET /v2/models/blobs/").count == 2)
        #expect(LFSFixture.bytes(fixture.stores.destination, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
    }

    @Test("bytes that do not match their digest are an integrity error and leave nothing in the store")
    func corruptBlobIsRefused() throws {
        let (registry, _, fixture, entries) = try published([100_000, 2000])
        // The registry's storage rots: same size, one byte changed.
        let path = registry.blobPath(entries[0].digest.hex)
        var bytes = try #require(FileManager.default.contents(atPath: path).map(Array.init))
        bytes[5000] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let client = try OCIFixture.client(registry.host, options: OCIFixture.smallChunks { $0.concurrency = 1 })
        let error = try #require(throws: IntegrityError.self) {
            try client.fetchBlobs(Array(entries.prefix(1)), into: fixture.stores.sink(entries))
        }
        #expect(error.category.exitCode == 3)
        #expect(error.message.contains(entries[0].digest.description))
        #expect(!fixture.stores.destination.objects.contains(entries[0].digest))
        let temp = try FileManager.default.contentsOfDirectory(atPath: fixture.stores.destination.layout.tmp)
        #expect(temp.isEmpty)
    }

    @Test("a blob the registry lacks fails with its BLOB_UNKNOWN code, exit 4")
    func missingBlob() throws {
        let (registry, _, fixture, _) = try published([10])
        defer { registry.stop() }
        let absent = LFSFixture.entry(for: Array("not pushed".utf8))
        let client = try OCIFixture.client(registry.host)
        let error = try #require(throws: OCIError.self) {
            try client.fetchBlobs([absent], into: fixture.stores.sink([absent]))
        }
        #expect(error.has("BLOB_UNKNOWN"))
        #expect(error.category.exitCode == 4)
        #expect(error.message.contains("BLOB_UNKNOWN"))
        #expect(error.message.contains(absent.digest.description))
        #expect(try client.blobSize(absent.digest) == nil)
    }

    @Test("a redirect to blob storage on another origin is followed without the registry's Authorization")
    func redirectDropsAuthorization() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try OCIFixture()
        let bytes = pseudoRandomBytes(count: 50_000, seed: 7)
        let entry = LFSFixture.entry(for: bytes)
        let put = try HTTPClient().send(HTTPRequest(method: "PUT", url: "\(server.baseURL)/oci-storage/\(entry.digest)", body: bytes))
        #expect(put.status == 201)
        let auth = FixedAuthorizer.basic("fleet", "registry-password")
        let client = try OCIFixture.client("127.0.0.1:\(server.port)", "redirect/models", auth: auth)
        try client.fetchBlobs([entry], into: fixture.stores.sink([entry]))
        #expect(LFSFixture.bytes(fixture.stores.destination, entry.digest) == bytes)
        // The registry's challenge was answered, and the storage got no header at all.
        #expect(auth.challenges == [#"Basic realm="stub""#])
        let log = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/oci-log"))
        let entries = try #require(JSONSerialization.jsonObject(with: Data(log.body)) as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["authorization"] is NSNull)
        // The small-blob path follows the same rule.
        #expect(try client.blobBytes(entry.digest, maxBytes: 1 << 20) == bytes)
    }

    @Test("a small blob read into memory is capped and verified")
    func blobBytesCappedAndVerified() throws {
        let registry = try DistributionRegistry.start()
        let client = try OCIFixture.client(registry.host)
        let config = Array(#"{"files":[]}"#.utf8)
        let digest = try client.putBlob(bytes: config)
        #expect(digest == SHA256.hash(config))
        #expect(try client.blobBytes(digest, maxBytes: 1000) == config)
        #expect(throws: IntegrityError.self) { try client.blobBytes(digest, maxBytes: 5) }
        // Pushing it again sends nothing new.
        #expect(try client.putBlob(bytes: config) == digest)
    }
}
