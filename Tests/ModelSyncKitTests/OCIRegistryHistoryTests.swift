import Foundation
import Testing
@testable import ModelSyncKit

/// A repository for listings: reads go to a ``MemoryOCIRepository`` filled beforehand, from as many threads as
/// ``concurrency`` allows, each held back as a slow registry would; it records how many were in flight.
final class ListingRepository: OCIRepository, @unchecked Sendable {
    // @unchecked: `memory` is only read, under `lock`; the counters are Locked.
    let memory: MemoryOCIRepository
    let concurrency: Int
    /// Seconds each tag's manifest takes, and the failures some tags answer with (after their delay).
    var delays: [String: Double] = [:]
    var failures: [String: any Error] = [:]
    /// Each request waits (up to 5 s) until `concurrency` requests are in flight, so overlap is not left to chance.
    var waitForPeers = false
    private let lock = NSLock()
    private let inFlight = Locked((now: 0, most: 0, started: 0))

    init(_ memory: MemoryOCIRepository, concurrency: Int) {
        self.memory = memory
        self.concurrency = concurrency
    }

    /// The most manifest requests that were in flight at once.
    var mostInFlight: Int { inFlight.withLock { $0.most } }

    func fetchManifest(_ reference: String) throws -> OCIStoredManifest? {
        inFlight.withLock { state in
            state.now += 1
            state.started += 1
            state.most = max(state.most, state.now)
        }
        defer { inFlight.withLock { $0.now -= 1 } }
        if waitForPeers {
            let deadline = Date().addingTimeInterval(5)
            while inFlight.withLock({ $0.now < concurrency && $0.started < memory.tagged.count }) && Date() < deadline {
                usleep(1000)
            }
        }
        if let delay = delays[reference] { usleep(useconds_t(delay * 1_000_000)) }
        if let failure = failures[reference] { throw failure }
        lock.lock()
        defer { lock.unlock() }
        return try memory.fetchManifest(reference)
    }

    func tags() throws -> [String] { try memory.tags() }
    func deleteManifest(_ digest: Digest) throws { try memory.deleteManifest(digest) }
    func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> { try memory.missingBlobs(digests) }
    func uploadBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs, checkPresence: Bool) throws -> OCIPushSummary {
        try memory.uploadBlobs(entries, from: outgoing, checkPresence: checkPresence)
    }
    func putBlob(bytes: [UInt8]) throws -> Digest { try memory.putBlob(bytes: bytes) }
    func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws { try memory.fetchBlobs(entries, into: sink) }
    func blobBytes(_ digest: Digest, maxBytes: Int) throws -> [UInt8] { try memory.blobBytes(digest, maxBytes: maxBytes) }
    func putManifest(_ bytes: [UInt8], mediaType: String, reference: String) throws -> Digest {
        try memory.putManifest(bytes, mediaType: mediaType, reference: reference)
    }
}

@Suite("OCI registry history: versions and gc --registry list sets in parallel, newest first to the microsecond")
struct OCIRegistryHistoryTests {
    /// Publishes a one-file set (distinct per `index`) under its digest tag with `created` as written, or without
    /// the annotation when nil; moves `channel` to it when given.
    @discardableResult
    static func put(_ index: Int, created: String?, in repository: MemoryOCIRepository, channel: String? = nil) throws -> Digest {
        let manifest = try Manifest(files: [ManifestEntry(path: "file\(index).bin", size: UInt64(index + 1),
                                                          digest: SHA256.hash([UInt8(index)]))])
        var image = OCISetMapping.imageManifest(for: manifest, created: Date())
        image.annotations = created.map { [OCIImageManifest.createdAnnotation: $0] }
        _ = try repository.putManifest(image.canonicalBytes, mediaType: OCIImageManifest.mediaType,
                                       reference: OCIRegistry.digestTag(manifest.digest))
        if let channel {
            _ = try repository.putManifest(image.canonicalBytes, mediaType: OCIImageManifest.mediaType, reference: channel)
        }
        return manifest.digest
    }

    static func stamp(_ seconds: Double) -> String {
        OCIImageManifest.createdStamp(Date(timeIntervalSince1970: seconds))
    }

    @Test("the digest tags' manifests are fetched oci.concurrency at a time, and the listing's order is the one-by-one order")
    func concurrentListing() throws {
        let memory = MemoryOCIRepository()
        // Times out of tag order, so neither tag order nor completion order gives the answer.
        let times = [30.5, 10.25, 50.0, 20.75, 40.125, 60.0, 5.5, 45.0, 35.0]
        let digests = try times.enumerated().map { try Self.put($0.offset, created: Self.stamp(1_800_000_000 + $0.element), in: memory) }
        let expected = zip(times, digests).sorted { $0.0 > $1.0 }.map(\.1)

        let parallel = ListingRepository(memory, concurrency: 4)
        parallel.waitForPeers = true
        // The first tags take longest: answers arrive in another order than they were asked.
        for (rank, tag) in try memory.tags().sorted().enumerated() { parallel.delays[tag] = 0.01 * Double(times.count - rank) }
        let listed = try OCIRegistry(repository: parallel, name: "r").publishedSets()
        #expect(parallel.mostInFlight == 4)
        #expect(listed.map(\.manifest) == expected)

        let serial = ListingRepository(memory, concurrency: 1)
        #expect(try OCIRegistry(repository: serial, name: "r").publishedSets() == listed)
        #expect(serial.mostInFlight == 1)
        // gc --registry lists the same way.
        let report = try OCIRegistry(repository: parallel, name: "r").collectGarbage(keep: 3, channel: "latest", dryRun: true)
        #expect(report.kept.map(\.manifest) == Array(expected.prefix(3)))
        #expect(report.removed.map(\.manifest) == Array(expected.dropFirst(3)))
    }

    @Test("a manifest that cannot be fetched stops the listing with the first failing tag's error; gc deletes nothing")
    func firstFailureInTagOrder() throws {
        let memory = MemoryOCIRepository()
        for index in 0..<8 { try Self.put(index, created: Self.stamp(1_800_000_000 + Double(index)), in: memory) }
        // A digest tag naming something that is not a set of that digest is skipped, not an error.
        _ = try memory.putManifest(Array("{\"schemaVersion\":2,\"layers\":[]}".utf8), mediaType: OCIImageManifest.mediaType,
                                   reference: OCIRegistry.digestTag(SHA256.hash([9, 9])))
        let tags = try memory.tags().filter { $0.hasPrefix("sha256-") }.sorted()
        let repository = ListingRepository(memory, concurrency: 4)
        // The later tag fails at once, the earlier one only after a while: the earlier one is still reported.
        repository.failures[tags[6]] = UsageError("failure of \(tags[6])")
        repository.failures[tags[2]] = UsageError("failure of \(tags[2])")
        repository.delays[tags[2]] = 0.3
        let registry = OCIRegistry(repository: repository, name: "r")
        let error = #expect(throws: UsageError.self) { _ = try registry.publishedSets() }
        #expect(error?.message == "failure of \(tags[2])")
        let gcError = #expect(throws: UsageError.self) {
            _ = try registry.collectGarbage(keep: 1, channel: "latest", dryRun: false)
        }
        #expect(gcError?.message == "failure of \(tags[2])")
        #expect(memory.manifests.count == 9, "nothing deleted")

        repository.failures = [:]
        #expect(try registry.publishedSets().count == 8)
    }

    @Test("publishes write created to the microsecond; whole-second and other fractions still parse")
    func createdStamps() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_141.048213)
        let text = OCIImageManifest.createdStamp(date)
        #expect(text.hasPrefix("2026-11-18T") && text.hasSuffix(".048213Z"), "\(text)")
        #expect(abs(try #require(OCIImageManifest.parseCreated(text)).timeIntervalSince(date)) < 0.000_002)
        #expect(OCIImageManifest.createdStamp(Date(timeIntervalSince1970: 1_767_225_600)) == "2026-01-01T00:00:00.000000Z")
        #expect(OCIImageManifest.parseCreated("2026-01-01T00:00:00Z") == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(OCIImageManifest.parseCreated("2026-01-01T00:00:00.5Z") == Date(timeIntervalSince1970: 1_767_225_600.5))
        #expect(OCIImageManifest.parseCreated("2026-01-01T00:00:00.250Z") == Date(timeIntervalSince1970: 1_767_225_600.25))
        #expect(OCIImageManifest.parseCreated("2026-01-01T00:00:00.Z") == nil)
        #expect(OCIImageManifest.parseCreated("yesterday") == nil)
        // Ordered by the fraction, not only by the second.
        #expect(try #require(OCIImageManifest.parseCreated(Self.stamp(1_800_000_000.000_002)))
                > (try #require(OCIImageManifest.parseCreated(Self.stamp(1_800_000_000.000_001)))))
    }

    @Test("five sets published within one second: gc keeps exactly the newest keep_manifests")
    func sameSecondPublishes() throws {
        let directory = TemporaryDirectory()
        let memory = MemoryOCIRepository()
        let registry = OCIRegistry(repository: memory, name: "r")
        let store = try Store.open(at: directory.path + "/p", lockTimeout: 1)
        var published: [Digest] = []
        for round in 0..<5 {
            directory.write("set\(round)/a.bin", pseudoRandomBytes(count: 100 + round, seed: 3))
            let manifest = try store.manifest(try store.importDirectory(directory.path + "/set\(round)").manifest)
            registry.now = { Date(timeIntervalSince1970: 1_800_000_000.1 + Double(round) * 0.15) }
            _ = try TransferEngine(store: store).publish(manifest, to: registry, channel: "latest")
            published.append(manifest.digest)
        }
        let listed = try OCIRegistry(repository: memory, name: "r").publishedSets(channel: "latest")
        #expect(listed.map(\.manifest) == published.reversed())
        let report = try registry.collectGarbage(keep: 2, channel: "latest", dryRun: false)
        #expect(report.kept.map(\.manifest) == [published[4], published[3]])
        #expect(Set(report.removed.map(\.manifest)) == Set(published.prefix(3)))
        #expect(Set(try memory.tags()) == ["latest", OCIRegistry.digestTag(published[4]), OCIRegistry.digestTag(published[3])])
    }

    @Test("equal times (whole-second stamps of older publishes) put the channel's set first, then go by digest; missing times last")
    func tieBreak() throws {
        let memory = MemoryOCIRepository()
        let legacy = "2026-01-01T00:00:00Z"
        let tied = try (0..<3).map { try Self.put($0, created: legacy, in: memory) }
        let channelSet = tied.max()!
        try Self.put(tied.firstIndex(of: channelSet)!, created: legacy, in: memory, channel: "latest")
        let newer = try Self.put(5, created: "2026-01-01T00:00:00.5Z", in: memory)
        let undated = try (6..<8).map { try Self.put($0, created: nil, in: memory) }
        let expected = [newer, channelSet] + tied.filter { $0 != channelSet }.sorted() + undated.sorted()
        #expect(try OCIRegistry(repository: memory, name: "r").publishedSets(channel: "latest").map(\.manifest) == expected)
        // Without the channel: by digest alone, the same on every run.
        #expect(try OCIRegistry(repository: memory, name: "r").publishedSets().map(\.manifest)
                == [newer] + tied.sorted() + undated.sorted())
        let report = try OCIRegistry(repository: memory, name: "r").collectGarbage(keep: 2, channel: "latest", dryRun: true)
        #expect(report.kept.map(\.manifest) == [newer, channelSet])

        // Only the tied sets: keep 1 keeps exactly the channel's, not another one beside it.
        let onlyTied = MemoryOCIRepository()
        for index in 0..<3 { try Self.put(index, created: legacy, in: onlyTied, channel: tied[index] == channelSet ? "latest" : nil) }
        let tiedReport = try OCIRegistry(repository: onlyTied, name: "r").collectGarbage(keep: 1, channel: "latest", dryRun: false)
        #expect(tiedReport.kept.map(\.manifest) == [channelSet])
        #expect(Set(tiedReport.removed.map(\.manifest)) == Set(tied).subtracting([channelSet]))
        #expect(Set(try onlyTied.tags()) == ["latest", OCIRegistry.digestTag(channelSet)])
    }
}
