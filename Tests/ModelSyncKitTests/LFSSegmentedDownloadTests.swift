import Foundation
import Testing
@testable import ModelSyncKit

/// Large objects fetched as byte ranges at once, against the scripted server (Fixtures/http/server.py).
extension LFSHostileServerTests {
    /// A client that cuts objects of 64 KiB or more into up to four ranges of at least 64 KiB.
    func segmentingClient(_ server: LoopbackHTTPServer, _ mode: String) -> LFSClient {
        LFSClient(endpoint: LFSEndpoint(url: server.baseURL + "/lfs/" + mode, headers: [("Authorization", "Bearer \(Self.secret)")]),
                  http: HTTPClient(connectTimeout: 5, requestTimeout: 20, maxAttempts: 3, sleep: { _ in }),
                  concurrency: 4, stallTimeout: 10, segmentThreshold: 64 << 10, minimumSegment: 64 << 10)
    }

    /// The temp files left in the destination store's `tmp/`.
    func leftovers(_ fixture: LFSFixture) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: fixture.destination.objects.layout.tmp)) ?? []
    }

    @Test("a large object is fetched as several ranges at once, then verified and stored")
    func segmented() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000_000, 10_000, 300_000])
        let sink = fixture.sink(entries)
        try segmentingClient(server, "normal").download(entries, into: sink)
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.destination, entry.digest) == LFSFixture.bytes(fixture.source, entry.digest))
        }
        #expect(Set(sink.insertions.map(\.digest)) == Set(entries.map(\.digest)))
        let requests = try objectRequests(server, "normal")
        let large = requests.filter { $0.path.hasSuffix(entries[0].digest.hex) }.compactMap { $0.headers["range"] }
        #expect(Set(large) == ["bytes=0-249999", "bytes=250000-499999", "bytes=500000-749999", "bytes=750000-999999"])
        let small = requests.filter { $0.path.hasSuffix(entries[1].digest.hex) }
        #expect(small.count == 1 && small[0].headers["range"] == nil)
        #expect(requests.filter { $0.path.hasSuffix(entries[2].digest.hex) }.count == 4)
        #expect(leftovers(fixture).isEmpty)
    }

    @Test("a segmented object whose bytes do not match is an integrity error (exit 3), nothing stored or left",
          arguments: ["wrong-bytes", "too-few"])
    func segmentedWrongBytes(_ mode: String) throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000_000])
        let sink = fixture.sink(entries)
        let error = #expect(throws: IntegrityError.self) { try segmentingClient(server, mode).download(entries, into: sink) }
        #expect(error?.category.exitCode == 3)
        #expect(sink.insertions.isEmpty)
        #expect(sink.failedEntry == entries[0])
        #expect(!fixture.destination.objects.contains(entries[0].digest))
        #expect(leftovers(fixture).isEmpty)
        #expect(try objectRequests(server, mode).contains { $0.headers["range"] == "bytes=250000-499999" })
    }

    /// A server holding more bytes than the oid's size ("too-many") still answers each range with the right
    /// bytes: the ranges add up to the object, which verifies, so it is stored as it would be from any server.
    @Test("only the asked ranges are taken from a server holding a longer object, and they verify")
    func segmentedLongerObject() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000_000])
        try segmentingClient(server, "too-many").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
        #expect(leftovers(fixture).isEmpty)
    }

    @Test("a dropped segment is resumed from its own last byte")
    func segmentResumed() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000_000])
        try segmentingClient(server, "drop-segment").download(entries, into: fixture.sink(entries))
        #expect(LFSFixture.bytes(fixture.destination, entries[0].digest) == LFSFixture.bytes(fixture.source, entries[0].digest))
        let ranges = try objectRequests(server, "drop-segment").compactMap { $0.headers["range"] }
        // One segment (not the first) was cut after half its 250,000 bytes and asked again from there.
        #expect(ranges.count == 5)
        let resumed = ranges.filter { !["bytes=0-249999", "bytes=250000-499999", "bytes=500000-749999",
                                          "bytes=750000-999999"].contains($0) }
        #expect(["bytes=375000-499999", "bytes=625000-749999", "bytes=875000-999999"].contains(resumed.first ?? ""))
        #expect(leftovers(fixture).isEmpty)
    }

    @Test("a server that ignores Range gets one stream per object instead of segments")
    func segmentsFallBack() throws {
        let server = try LoopbackHTTPServer()
        let (fixture, entries) = try seeded(server, [1_000_000, 600_000])
        let sink = fixture.sink(entries)
        // One thread: the first object's segments see the 200 answers, the second object goes straight
        // to one stream.
        let client = LFSClient(endpoint: LFSEndpoint(url: server.baseURL + "/lfs/ignore-range", headers: []),
                               http: HTTPClient(connectTimeout: 5, requestTimeout: 20, maxAttempts: 3, sleep: { _ in }),
                               concurrency: 1, stallTimeout: 10, segmentThreshold: 64 << 10, minimumSegment: 64 << 10)
        try client.download(entries, into: sink)
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.destination, entry.digest) == LFSFixture.bytes(fixture.source, entry.digest))
        }
        #expect(Set(sink.insertions.map(\.digest)) == Set(entries.map(\.digest)))
        let second = try objectRequests(server, "ignore-range").filter { $0.path.hasSuffix(entries[1].digest.hex) }
        #expect(second.first?.headers["range"] == nil)
        #expect(leftovers(fixture).isEmpty)
    }
}
