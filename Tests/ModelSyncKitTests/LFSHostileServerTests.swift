import Foundation
import Testing
@testable import ModelSyncKit

/// The LFS client against a scripted server (Fixtures/http/server.py, `/lfs/<mode>`) that breaks the
/// protocol one way at a time.
@Suite("LFS client against broken and hostile servers")
struct LFSHostileServerTests {
    static let secret = "endpoint-secret-0123456789"

    /// One request the server saw.
    struct Record: Decodable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String
    }

    /// What a batch request asked.
    struct BatchBody: Decodable {
        struct Object: Decodable {
            let oid: String
            let size: UInt64
        }

        let operation: String
        let transfers: [String]
        let objects: [Object]
        let hash_algo: String
    }

    func client(_ server: LoopbackHTTPServer, _ mode: String, stallTimeout: Double = 10,
                policy: HTTPURLPolicy = HTTPURLPolicy()) -> LFSClient {
        LFSClient(endpoint: LFSEndpoint(url: server.baseURL + "/lfs/" + mode, headers: [("Authorization", "Bearer \(Self.secret)")]),
                  http: HTTPClient(connectTimeout: 5, requestTimeout: 20, maxAttempts: 3, sleep: { _ in }, urlPolicy: policy),
                  concurrency: 4, stallTimeout: stallTimeout)
    }

    /// A fixture whose blobs of these sizes the server already holds.
    func seeded(_ server: LoopbackHTTPServer, _ sizes: [Int]) throws -> (LFSFixture, [ManifestEntry]) {
        let fixture = try LFSFixture()
        let entries = try fixture.blobs(sizes)
        try client(server, "normal").upload(entries, from: fixture.outgoing(entries))
        return (fixture, entries)
    }

    func log(_ server: LoopbackHTTPServer, _ mode: String) throws -> [Record] {
        let response = try HTTPClient().send(HTTPRequest(url: server.baseURL + "/lfs-log?key=" + mode))
        return try JSONDecoder().decode([Record].self, from: Data(response.body))
    }

    func objectRequests(_ server: LoopbackHTTPServer, _ mode: String, _ method: String = "GET") throws -> [Record] {
        try log(server, mode).filter { $0.method == method && $0.path.hasPrefix("/lfs-obj/") }
    }

    func expectNoSecret(_ error: (any ModelSyncError)?) {
        #expect(error.map { !$0.message.contains(Self.secret) && !($0.hint ?? "").contains(Self.secret) } == true)
    }

    @Test("bytes that do not hash to the oid are an integrity error (exit 3) and nothing is stored",
          arguments: ["wrong-bytes", "too-many", "too-few"])
    func wrongBytes(_ mode: String) throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [100_000])
        let sink = fixture.sink(entries)
        let error = #expect(throws: IntegrityError.self) { try client(server, mode).download(entries, into: sink) }
        #expect(error?.category.exitCode == 3)
        if mode == "too-many" { #expect(error?.code == .sizeMismatch) }
        #expect(sink.insertions.isEmpty)
        #expect(sink.failedEntry == entries[0])
        #expect(!fixture.destination.objects.contains(entries[0].digest))
    }

    @Test("an object the answer lists without being asked for is never downloaded")
    func unrequestedObjectIgnored() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [10_000])
        try client(server, "extra").download(entries, into: fixture.sink(entries))
        #expect(fixture.destination.objects.contains(entries[0].digest))
        let fetched = try objectRequests(server, "extra").map(\.path)
        #expect(fetched == ["/lfs-obj/extra/\(entries[0].digest.hex)"])
    }

    @Test("a per-object error is reported for that object with the server's message (exit 4)")
    func perObjectError() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [10_000])
        let upload = #expect(throws: LFSError.self) {
            try client(server, "object-error").upload(entries, from: fixture.outgoing(entries))
        }
        let download = #expect(throws: LFSError.self) {
            try client(server, "object-error").download(entries, into: fixture.sink(entries))
        }
        for error in [upload, download] {
            #expect(error?.code == .objectError)
            #expect(error?.category.exitCode == 4)
            #expect(error?.message.contains("refused by the host's file size rule") == true)
            #expect(error?.message.contains(entries[0].digest.description) == true)
            expectNoSecret(error)
        }
    }

    @Test("a batch refused with 413 or 422 shows the server's own message (exit 4)",
          arguments: [("status-413", "batch over the host's request size limit"),
                      ("status-422", "hash_algo not accepted by this host")])
    func refusedBatch(_ mode: String, _ message: String) throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([1_000])
        let error = #expect(throws: LFSError.self) { try client(server, mode).upload(entries, from: fixture.outgoing(entries)) }
        #expect(error?.code == .status)
        #expect(error?.category.exitCode == 4)
        #expect(error?.message.contains(message) == true)
        #expect(error?.message.contains("HTTP \(mode.suffix(3))") == true)
        expectNoSecret(error)
    }

    @Test("an answer with another size than asked is refused")
    func sizeMismatchRefused() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [10_000])
        let error = #expect(throws: LFSError.self) {
            try client(server, "size-mismatch").download(entries, into: fixture.sink(entries))
        }
        #expect(error?.code == .invalidAnswer)
        #expect(try objectRequests(server, "size-mismatch").isEmpty)
    }

    @Test("a connection dropped mid-download is resumed with Range and the object is complete")
    func resumedAfterDrop() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [300_000])
        try client(server, "drop").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
        let ranges = try objectRequests(server, "drop").map { $0.headers["range"] }
        #expect(ranges == [nil, "bytes=150000-"])
    }

    @Test("a server that ignores Range is answered by restarting the blob")
    func serverIgnoresRange() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [300_000])
        let sink = fixture.sink(entries)
        try client(server, "ignore-range").download(entries, into: sink)
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
        #expect(sink.insertions.map(\.digest) == [entries[0].digest])
        let ranges = try objectRequests(server, "ignore-range").map { $0.headers["range"] }
        #expect(ranges == [nil, "bytes=150000-"])
    }

    @Test("a frozen transfer is dropped after the stall timeout and resumed")
    func stallTimeout() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [300_000])
        let started = Date()
        try client(server, "stall", stallTimeout: 1).download(entries, into: fixture.sink(entries))
        // curl measures the speed over a few seconds: the stall is seen a little after the limit.
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(fixture.destination.objects.contains(entries[0].digest))
        #expect(try objectRequests(server, "stall").count == 2)
    }

    @Test("expired actions and hrefs refusing their credentials are replaced by a new batch call",
          arguments: ["expired", "href-401"])
    func refreshedActions(_ mode: String) throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [20_000])
        try client(server, mode).download(entries, into: fixture.sink(entries))
        #expect(fixture.destination.objects.contains(entries[0].digest))
        #expect(try log(server, mode).filter { $0.path.hasSuffix("/objects/batch") }.count == 2)
        #expect(try objectRequests(server, mode + "-stale").count == (mode == "expired" ? 0 : 1))
    }

    @Test("an href on another host gets the action's headers, never the endpoint's Authorization")
    func headersScopedToHost() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([20_000])
        try client(server, "other-host").upload(entries, from: fixture.outgoing(entries))
        try client(server, "other-host").download(entries, into: fixture.sink(entries))
        #expect(fixture.destination.objects.contains(entries[0].digest))
        let transfers = try log(server, "other-host").filter { $0.path.hasPrefix("/lfs-obj/") }
        #expect(transfers.map(\.method).sorted() == ["GET", "PUT"])
        for record in transfers {
            #expect(record.headers["x-action-token"] == "action-secret")
            #expect(record.headers["authorization"] == nil)
            #expect(record.headers["host"]?.hasPrefix("localhost:") == true)
        }
        // The batch calls, on the endpoint's own origin, carry its Authorization; so does a same-origin href.
        #expect(try log(server, "other-host").filter { $0.path.hasSuffix("/objects/batch") }
            .allSatisfy { $0.headers["authorization"] == "Bearer \(Self.secret)" })
        #expect(try objectRequests(server, "normal", "PUT").allSatisfy { $0.headers["authorization"] == "Bearer \(Self.secret)" })
    }

    @Test("a plain http:// href to another machine is refused before any transfer")
    func insecureHrefRefused() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000])
        let other = try LFSFixture()
        let more = try other.blobs([2_000], seed: 9)
        let download = #expect(throws: LFSError.self) {
            try client(server, "insecure").download(entries, into: fixture.sink(entries))
        }
        let upload = #expect(throws: LFSError.self) {
            try client(server, "insecure").upload(more, from: other.outgoing(more))
        }
        for error in [download, upload] {
            #expect(error?.code == .refusedHref)
            #expect(error?.category.exitCode == 4)
            #expect(error?.message.contains("lfs.example.invalid") == true)
        }
    }

    @Test("an upload answered with a 500 is sent again from its first byte, then verified")
    func uploadRetried() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([200_000])
        let sent = try client(server, "put-500").upload(entries, from: fixture.outgoing(entries))
        #expect(sent.objects == 1)
        #expect(try objectRequests(server, "put-500", "PUT").count == 2)
        let verifies = try log(server, "put-500").filter { $0.path.hasPrefix("/lfs-verify/") }
        #expect(verifies.count == 1)
        #expect(verifies.first?.headers["content-type"] == "application/vnd.git-lfs+json")
        // The object is whole on the server: a download from it matches.
        try client(server, "normal").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
    }

    @Test("batch requests speak the API's media type, ask for basic transfers and sha256, 100 objects at most")
    func batchRequests() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs(Array(repeating: 100, count: 150).enumerated().map { $0.element + $0.offset })
        #expect(try client(server, "normal").missingObjects(entries.map(LFSObject.init)).count == 150)
        let batches = try log(server, "normal").filter { $0.path.hasSuffix("/objects/batch") }
        #expect(batches.count == 2)
        var asked: [String] = []
        for batch in batches {
            #expect(batch.headers["accept"] == "application/vnd.git-lfs+json")
            #expect(batch.headers["content-type"] == "application/vnd.git-lfs+json")
            let body = try JSONDecoder().decode(BatchBody.self, from: Data(batch.body.utf8))
            #expect(body.operation == "upload" && body.transfers == ["basic"] && body.hash_algo == "sha256")
            #expect(body.objects.count <= 100)
            asked += body.objects.map(\.oid)
        }
        #expect(asked.sorted() == entries.map(\.digest.hex).sorted())
    }
}

extension LFSHostileServerTests {
    @Test("transfers run in parallel, as many as asked whatever the number of cores")
    func parallelTransfers() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, (1...8).map { 1_000 + $0 })
        let client = LFSClient(endpoint: LFSEndpoint(url: server.baseURL + "/lfs/slow"), http: HTTPClient(maxAttempts: 1),
                               concurrency: 8)
        let started = Date()
        try client.download(entries, into: fixture.sink(entries))
        // Each GET waits 1 s on the server: one after another would take 8 s.
        #expect(Date().timeIntervalSince(started) < 4)
        #expect(entries.allSatisfy { fixture.destination.objects.contains($0.digest) })
    }

    @Test("a transfer redirected to another host loses every header on the way")
    func redirectDropsHeaders() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([30_000])
        try client(server, "redirect").upload(entries, from: fixture.outgoing(entries))
        try client(server, "redirect").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
        // The hrefs share the endpoint's origin and get its Authorization; the redirect target does not.
        #expect(try log(server, "redirect").filter { $0.path.hasPrefix("/lfs-obj/") }
            .allSatisfy { $0.headers["authorization"] == "Bearer \(Self.secret)" })
        let redirected = try log(server, "redirected")
        #expect(redirected.map(\.method).sorted() == ["GET", "PUT"])
        #expect(redirected.allSatisfy { $0.headers["authorization"] == nil })
    }

    @Test("a server quoting the credentials it got in an error never gets them shown")
    func credentialsScrubbed() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000])
        let error = #expect(throws: LFSError.self) { try client(server, "echo").download(entries, into: fixture.sink(entries)) }
        #expect(error?.message.contains("no object for") == true)
        #expect(error?.message.contains("action-secret") == false)
        expectNoSecret(error)
    }

    @Test("progress reaches the total on the way up and down, and empty blobs need no transfer")
    func progressAndEmptyBlobs() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([0, 50_000, 70_000])
        let uploaded = Locked<[ModelSyncKit.Progress]>([])
        let objects = fixture.source.objects
        let outgoing = OutgoingBlobs(total: 120_000, progress: { p in uploaded.withLock { $0.append(p) } }) { entry in
            OutgoingBlob(digest: entry.digest, size: entry.size, path: objects.path(of: entry.digest))
        }
        let sent = try client(server, "normal").upload(entries, from: outgoing)
        #expect(sent.objects == 2 && sent.bytes == 120_000)
        #expect(uploaded.withLock { $0.map(\.completed).max() } == 120_000)
        let downloaded = Locked<[ModelSyncKit.Progress]>([])
        let sink = BlobSink(objects: fixture.destination.objects, total: 120_000,
                            progress: { p in downloaded.withLock { $0.append(p) } })
        try client(server, "normal").download(entries, into: sink)
        #expect(downloaded.withLock { $0.map(\.completed).max() } == 120_000)
        #expect(entries.allSatisfy { fixture.destination.objects.contains($0.digest) })
        #expect(try log(server, "normal").filter { $0.method == "GET" }.count == 2)
    }
}

extension LFSHostileServerTests {
    @Test("an upload whose action expired or was refused gets a new batch call and lands whole",
          arguments: ["expired", "href-401"])
    func refreshedUploadActions(_ mode: String) throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([40_000])
        let sent = try client(server, mode).upload(entries, from: fixture.outgoing(entries))
        #expect(sent.objects == 1)
        #expect(try log(server, mode).filter { $0.path.hasSuffix("/objects/batch") }.count == 2)
        #expect(try objectRequests(server, mode + "-stale", "PUT").count == (mode == "expired" ? 0 : 1))
        try client(server, "normal").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
    }

    @Test("a failed transfer stops the others and is the error reported")
    func firstFailureWins() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [2_000, 3_000, 4_000, 5_000])
        let sink = fixture.sink(entries)
        let client = LFSClient(endpoint: LFSEndpoint(url: server.baseURL + "/lfs/wrong-bytes"), http: HTTPClient(maxAttempts: 1),
                               concurrency: 2)
        #expect(throws: IntegrityError.self) { try client.download(entries, into: sink) }
        #expect(sink.insertions.isEmpty)
        // At most one transfer per worker started before the failure stopped them.
        #expect(try objectRequests(server, "wrong-bytes").count <= 2)
    }
}

extension LFSHostileServerTests {
    @Test("a frozen upload is dropped after the stall timeout and sent again")
    func uploadStallTimeout() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([100_000])
        let started = Date()
        let sent = try client(server, "put-stall", stallTimeout: 1).upload(entries, from: fixture.outgoing(entries))
        #expect(sent.objects == 1)
        #expect(Date().timeIntervalSince(started) < 15)
        try client(server, "normal").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
    }
}

extension LFSHostileServerTests {
    @Test("an answer that is not the batch API's is refused before any transfer",
          arguments: ["garbage", "tus", "omit"])
    func invalidAnswers(_ mode: String) throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000])
        let error = #expect(throws: LFSError.self) { try client(server, mode).download(entries, into: fixture.sink(entries)) }
        #expect(error?.code == .invalidAnswer)
        #expect(error?.category.exitCode == 4)
        #expect(try objectRequests(server, mode).isEmpty)
        #expect(!fixture.destination.objects.contains(entries[0].digest))
    }

    @Test("with insecure HTTP allowed, a plain http:// href is followed rather than refused")
    func insecureHrefAllowedByPolicy() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000])
        let client = client(server, "insecure", policy: HTTPURLPolicy(allowInsecureHTTP: true))
        let error = #expect(throws: LFSError.self) { try client.download(entries, into: fixture.sink(entries)) }
        // lfs.example.invalid never resolves: the transfer was tried.
        #expect(error?.code == .transfer)
    }
}

extension LFSHostileServerTests {
    @Test("credentials in the endpoint URL never appear in a message")
    func userinfoNeverShown() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([1_000])
        let url = "http://_jwt:userinfo-secret-0123456789@127.0.0.1:\(server.port)/lfs/status-413"
        let client = LFSClient(endpoint: LFSEndpoint(url: url), http: HTTPClient(maxAttempts: 1))
        let error = #expect(throws: LFSError.self) { try client.upload(entries, from: fixture.outgoing(entries)) }
        #expect(error?.message.contains("batch over the host's request size limit") == true)
        #expect(error?.message.contains("userinfo-secret") == false)
        #expect(error?.message.contains("127.0.0.1:\(server.port)/lfs/status-413") == true)
    }
}
