import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// Uploads to a real distribution registry: what lands in its storage, what is not sent, and how a dropped
/// connection is resumed.
@Suite struct OCIClientUploadTests {
    @Test("small blobs go in one PUT and large ones in PATCH chunks, stored byte for byte")
    func smallAndLargeBlobs() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        // 300 KiB and 64 KiB + 1 are chunked (64 KiB chunks), 1000 bytes and the empty blob go whole.
        let entries = try fixture.stores.blobs([1000, 300 << 10, (64 << 10) + 1, 0])
        let client = try OCIFixture.client(proxy.host)
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary.uploaded == 4)
        #expect(summary.uploadedBytes == entries.reduce(0) { $0 + $1.size })
        for entry in entries {
            #expect(OCIFixture.stored(registry, entry.digest) == fixture.sourceBytes(entry.digest), "\(entry.path)")
            #expect(try client.blobSize(entry.digest) == entry.size)
        }
        // 5 chunks for 300 KiB, 2 for 64 KiB + 1; one session per blob.
        #expect(proxy.lines("PATCH ").count == 7)
        #expect(proxy.lines("POST /v2/models/blobs/uploads/").count == 4)
        #expect(proxy.lines("PUT /v2/models/blobs/uploads/").count == 4)
    }

    @Test("a blob the repository already holds is found by HEAD and not sent again")
    func presentBlobsAreSkipped() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([2000, 200 << 10])
        let client = try OCIFixture.client(proxy.host)
        try client.putBlobs(Array(entries.prefix(1)), from: fixture.stores.outgoing(entries))
        let before = proxy.requestLines.count
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary == { var s = OCIPushSummary(); s.present = 1; s.uploaded = 1; s.uploadedBytes = 200 << 10; return s }())
        let second = proxy.requestLines.dropFirst(before)
        #expect(second.filter { $0.hasPrefix("HEAD ") }.count == 2)
        #expect(second.filter { $0.contains(entries[0].digest.description) && !$0.hasPrefix("HEAD ") }.isEmpty)
        #expect(second.filter { $0.hasPrefix("POST ") }.count == 1)
        #expect(try client.missingBlobs(entries.map(\.digest) + [LFSFixture.entry(for: [1, 2, 3]).digest])
                == [LFSFixture.entry(for: [1, 2, 3]).digest])
    }

    @Test("a publish asks about each new blob once: the engine's HEAD, none again before the upload")
    func publishHeadsEachBlobOnce() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let files = ["a.bin": pseudoRandomBytes(count: 3000, seed: 1), "b/c.bin": pseudoRandomBytes(count: 200 << 10, seed: 2)]
        for (path, bytes) in files { fixture.stores.directory.write("set/" + path, bytes) }
        let store = fixture.stores.source
        let manifest = try store.manifest(try store.importDirectory(fixture.stores.directory.path + "/set").manifest)
        let client = try OCIFixture.client(proxy.host)
        let published = try TransferEngine(store: store).publish(manifest, to: OCIRegistry(repository: client, name: "r"),
                                                                 channel: "latest")
        #expect(published.newObjects == 2)
        for entry in manifest.files {
            #expect(proxy.lines("HEAD ").filter { $0.contains(entry.digest.description) }.count == 1, "\(entry.path)")
            #expect(OCIFixture.stored(registry, entry.digest) == files[entry.path], "\(entry.path)")
        }
    }

    @Test("a blob in another repository of the registry is mounted, not uploaded")
    func crossRepositoryMount() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([5000, 150 << 10])
        try OCIFixture.client(registry.host, "team/base").putBlobs(entries, from: fixture.stores.outgoing(entries))
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.mountFrom = ["elsewhere", "team/base"] })
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary.mounted == 2 && summary.uploaded == 0)
        #expect(proxy.lines("POST /v2/models/blobs/uploads/?mount=").count == 4)
        #expect(proxy.lines("PATCH ").isEmpty && proxy.lines("PUT ").isEmpty)
        // The sessions the failed mounts from "elsewhere" opened are cancelled, not left behind.
        #expect(proxy.lines("DELETE /v2/models/blobs/uploads/").count == 2)
        #expect(try client.blobSize(entries[1].digest) == entries[1].size)
    }

    @Test("a mount the registry cannot do opens the session the blob is then uploaded into")
    func failedMountUsesItsSession() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([3000, 100 << 10])
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.mountFrom = ["team/base"] })
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary.uploaded == 2 && summary.mounted == 0)
        #expect(proxy.lines("POST ").allSatisfy { $0.contains("?mount=") })
        for entry in entries {
            #expect(OCIFixture.stored(registry, entry.digest) == fixture.sourceBytes(entry.digest))
        }
    }

    @Test("a chunk dropped before the registry got a byte resumes at the registry's offset")
    func chunkedUploadResumes() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([256 << 10])
        // The third PATCH's connection is cut right after its headers.
        proxy.drop(requestsStartingWith: "PATCH ", after: 0, of: .request, skip: 2)
        let client = try OCIFixture.client(proxy.host)
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary.uploaded == 1)
        #expect(proxy.cutCount == 1)
        #expect(OCIFixture.stored(registry, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
        // One session, its state read back once, 4 chunks + the one cut.
        #expect(proxy.lines("POST ").count == 1)
        #expect(proxy.lines("GET /v2/models/blobs/uploads/").count == 1)
        #expect(proxy.lines("PATCH ").count == 5)
    }

    @Test("a chunk that stalls is dropped after the stall timeout and resumed at the registry's offset")
    func stalledChunkResumes() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([192 << 10])
        proxy.drop(requestsStartingWith: "PATCH ", after: 0, of: .request, skip: 1, stall: true)
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.stallTimeout = 1 })
        try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(proxy.cutCount == 1)
        #expect(OCIFixture.stored(registry, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
        #expect(proxy.lines("POST ").count == 1)
        #expect(proxy.lines("PATCH ").count == 4)
    }

    @Test("a chunk the registry fails with a 5xx is resumed from the offset it reports")
    func serverErrorMidUpload() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([192 << 10, 30_000])
        proxy.answer(requestsStartingWith: "PATCH ", status: 503, skip: 1)
        proxy.answer(requestsStartingWith: "PUT /v2/models/blobs/uploads/", status: 500)
        let client = try OCIFixture.client(proxy.host, options: OCIFixture.smallChunks { $0.concurrency = 1 })
        let summary = try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(summary.uploaded == 2)
        #expect(proxy.cutCount == 2)
        for entry in entries {
            #expect(OCIFixture.stored(registry, entry.digest) == fixture.sourceBytes(entry.digest))
        }
        #expect(proxy.lines("GET /v2/models/blobs/uploads/").count == 1)
    }

    @Test("a session the registry dropped after a partial chunk is started again from a new session")
    func lostSessionStartsOver() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([200 << 10])
        // Half of the second chunk reaches the registry: distribution cancels such a session.
        proxy.drop(requestsStartingWith: "PATCH ", after: 32 << 10, of: .request, skip: 1)
        let client = try OCIFixture.client(proxy.host)
        try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(proxy.cutCount == 1)
        #expect(OCIFixture.stored(registry, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
        #expect(proxy.lines("POST ").count == 2)
    }

    @Test("a monolithic PUT cut mid-body is sent again in a new session")
    func monolithicUploadRetries() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([40 << 10])
        proxy.drop(requestsStartingWith: "PUT /v2/models/blobs/uploads/", after: 10_000, of: .request)
        let client = try OCIFixture.client(proxy.host)
        try client.putBlobs(entries, from: fixture.stores.outgoing(entries))
        #expect(proxy.cutCount == 1)
        #expect(OCIFixture.stored(registry, entries[0].digest) == fixture.sourceBytes(entries[0].digest))
        #expect(proxy.lines("PUT ").count == 2)
    }

    @Test("upload progress ends at the bytes of every blob, after drops and resumes")
    func progressAfterResume() throws {
        let registry = try DistributionRegistry.start()
        let proxy = try DroppingProxy(targetPort: Int(registry.host.split(separator: ":")[1])!)
        let fixture = try OCIFixture()
        let entries = try fixture.stores.blobs([200 << 10, 1000])
        proxy.drop(requestsStartingWith: "PATCH ", after: 0, of: .request, skip: 1)
        let objects = fixture.stores.source.objects
        let reported = Locked<[UInt64]>([])
        let total = entries.reduce(0) { $0 + $1.size }
        let outgoing = OutgoingBlobs(total: total, progress: { progress in reported.withLock { $0.append(progress.completed) } }) {
            OutgoingBlob(digest: $0.digest, size: $0.size, path: objects.path(of: $0.digest))
        }
        try OCIFixture.client(proxy.host).putBlobs(entries, from: outgoing)
        #expect(reported.withLock { $0.last } == total)
    }

    @Test("bytes the registry finds not matching their digest fail with DIGEST_INVALID after fresh sessions")
    func digestRefusedByRegistry() throws {
        let registry = try DistributionRegistry.start()
        let fixture = try OCIFixture()
        let small = try fixture.stores.blobs([1000, 100 << 10])
        for entry in small {
            // A file that changed after it was verified: same size, other bytes.
            let other = fixture.stores.directory.path + "/changed-\(entry.size)"
            #expect(FileManager.default.createFile(atPath: other, contents: Data(repeating: 7, count: Int(entry.size))))
            let outgoing = OutgoingBlobs(total: entry.size, progress: nil) { _ in
                OutgoingBlob(digest: entry.digest, size: entry.size, path: other)
            }
            let error = try #require(throws: OCIError.self) { try OCIFixture.client(registry.host).putBlobs([entry], from: outgoing) }
            #expect(error.has("DIGEST_INVALID"))
            #expect(error.category.exitCode == 4)
            #expect(error.hint == "the bytes sent do not match their digest; run fsck on the store and publish again")
            #expect(OCIFixture.stored(registry, entry.digest) == nil)
        }
    }

    @Test("the registry's Range and Location read as the session's offset and next URL")
    func sessionParsing() {
        #expect(OCIUploadSession.received(range: "0-65535", confirmed: 0) == 65536)
        #expect(OCIUploadSession.received(range: "bytes=0-99", confirmed: 0) == 100)
        #expect(OCIUploadSession.received(range: "0-0", confirmed: 0) == 0)
        #expect(OCIUploadSession.received(range: "0-0", confirmed: 1) == 1)
        #expect(OCIUploadSession.received(range: "0-0", confirmed: 4096) == 0)
        #expect(OCIUploadSession.received(range: "5-9", confirmed: 0) == nil)
        #expect(OCIUploadSession.received(range: "junk", confirmed: 0) == nil)
        #expect(OCIUploadSession.received(range: nil, confirmed: 7) == nil)
        let digest = Digest.empty
        #expect(OCIUploadSession(location: "http://r/v2/m/blobs/uploads/u?_state=x", offset: 0).appending(digest: digest)
                == "http://r/v2/m/blobs/uploads/u?_state=x&digest=\(digest)")
        #expect(OCIUploadSession(location: "https://r/up/u", offset: 0).appending(digest: digest) == "https://r/up/u?digest=\(digest)")
    }
}
