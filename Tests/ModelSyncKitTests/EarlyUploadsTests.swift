import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

/// A publish uploads the large objects of its import while the rest is still being hashed.
@Suite struct EarlyUploadsTests {
    @Test("the import announces each large object it creates once it is in the store, and nothing else")
    func importAnnouncesStoredLargeObjects() throws {
        let directory = TemporaryDirectory()
        let large = pseudoRandomBytes(count: Int(ObjectBatch.largeObjectBytes) + 1, seed: 1)
        directory.write("models/large.bin", large)
        directory.write("models/other-large.bin", pseudoRandomBytes(count: Int(ObjectBatch.largeObjectBytes) + 2, seed: 2))
        directory.write("models/small.bin", pseudoRandomBytes(count: 1000, seed: 3))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let objects = store.objects
        let announced = Mutex<[(ManifestEntry, Bool)]>([])
        let imported = try store.importDirectory(directory.path + "/models", stored: { entry in
            // Announced only once durable and named: an upload may read it at once.
            announced.withLock { $0.append((entry, objects.contains(entry.digest))) }
        })
        let entries = announced.withLock { $0 }
        #expect(Set(entries.map(\.0.path)) == ["large.bin", "other-large.bin"])
        let allStored = entries.allSatisfy { $0.1 }
        #expect(allStored)
        let created = Set(imported.createdObjects)
        let allCreated = entries.allSatisfy { created.contains($0.0.digest) }
        #expect(allCreated)
        let manifest = try store.manifest(imported.manifest)
        for (entry, _) in entries {
            let listed = manifest.files.contains { $0.path == entry.path && $0.digest == entry.digest && $0.size == entry.size }
            #expect(listed, "\(entry.path)")
        }

        // Objects already in the store are not created again, so not announced: the engine verifies and
        // sends them if the destination lacks them.
        directory.write("models/copy.bin", large)
        let again = Mutex<[ManifestEntry]>([])
        _ = try store.importDirectory(directory.path + "/models", stored: { entry in again.withLock { $0.append(entry) } })
        #expect(again.withLock { $0 }.isEmpty)
    }

    @Test("uploads run at most `concurrency` at once, failures are forgotten, and finish waits for all")
    func boundedAndForgiving() throws {
        let running = Mutex((now: 0, most: 0, done: 0))
        let uploads = EarlyUploads(concurrency: 2) { entry in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            usleep(20_000)
            running.withLock { $0.now -= 1; $0.done += 1 }
            if entry.path.hasPrefix("fail") { throw UsageError("refused") }
            return entry.path != "ok1"  // the destination had that one
        }
        for index in 0..<8 {
            let digest = try Digest(parsing: "sha256:" + String(repeating: String(index), count: 64))
            uploads.announce(ManifestEntry(path: (index.isMultiple(of: 2) ? "fail" : "ok") + "\(index)", size: 1, digest: digest))
        }
        uploads.finish()
        let state = running.withLock { $0 }
        #expect(state.done == 8)
        #expect(state.most <= 2)
        #expect(state.now == 0)
        // Sent: ok3, ok5, ok7 (the failures and the one already there do not count).
        #expect(uploads.sent.objects == 3 && uploads.sent.bytes == 3)
    }

    @Test("through Git LFS, each large object is on the server before the import returns, and its bytes are sent once")
    func lfsUploadsDuringImport() throws {
        let fixture = try LFSRegistryFixture()
        let server = fixture.server
        let large = pseudoRandomBytes(count: 3 << 20, seed: 11)
        let other = pseudoRandomBytes(count: (2 << 20) + 5, seed: 12)
        let small = pseudoRandomBytes(count: 1000, seed: 13)
        fixture.writeModel("large.bin", large)
        fixture.writeModel("other.bin", other)
        fixture.writeModel("small.bin", small)
        let largeOIDs = [large, other].map { SHA256.hash($0).hex }
        let smallOID = SHA256.hash(small).hex
        // Still inside the import (the store lock held): the large objects must reach the server now, or never
        // before the engine's turn. Waits a bounded time for them; the small one must not have left yet.
        let duringImport = Mutex<(large: Set<String>, small: Bool)>(([], false))
        var publisher = Publisher(workspace: fixture.publisher)
        publisher.afterImport = {
            let deadline = Date().addingTimeInterval(30)
            var arrived = Set<String>()
            while Date() < deadline {
                arrived = Set(largeOIDs.filter { !server.uploads(of: $0).isEmpty })
                if arrived.count == largeOIDs.count { break }
                usleep(20_000)
            }
            let smallSent = !server.uploads(of: smallOID).isEmpty
            duringImport.withLock { $0 = (arrived, smallSent) }
        }
        let published = try publisher.publish()
        let seen = duringImport.withLock { $0 }
        #expect(seen.large == Set(largeOIDs))
        #expect(!seen.small)
        // Each object once: the engine's batch found the large ones present and sent only the small one.
        for oid in largeOIDs + [smallOID] {
            #expect(server.uploads(of: oid).count == 1, "\(oid)")
        }
        #expect(server.storedObject(largeOIDs[0]) == large && server.storedObject(largeOIDs[1]) == other)
        #expect(published.result == .published)
        #expect(published.newObjects == 3)
        #expect(published.newBytes == UInt64(large.count + other.count + small.count))
    }

    @Test("through Git LFS, a large object whose early upload is refused is sent by the engine and counted once")
    func lfsEarlyFailureLeftToEngine() throws {
        let server = try LoopbackHTTPServer()
        let fixture = try LFSRegistryFixture()
        let large = pseudoRandomBytes(count: 2 << 20, seed: 71)
        let small = pseudoRandomBytes(count: 1000, seed: 72)
        fixture.writeModel("large.bin", large)
        fixture.writeModel("small.bin", small)
        // The scripted server refuses the first PUT of each large object (422, not retried).
        var publisher = Publisher(workspace: try fixture.publisher(lfsURL: server.baseURL + "/lfs/put-422-large"))
        let largeOID = SHA256.hash(large).hex
        let puts = { (oid: String) throws -> Int in
            let response = try HTTPClient().send(HTTPRequest(url: server.baseURL + "/lfs-log?key=put-422-large"))
            let records = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
            return records.filter { $0["method"] as? String == "PUT" && ($0["path"] as? String)?.hasSuffix(oid) == true }.count
        }
        let refusedDuringImport = Mutex(false)
        publisher.afterImport = {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, try puts(largeOID) == 0 { usleep(20_000) }
            refusedDuringImport.withLock { $0 = (try? puts(largeOID)) == 1 }
        }
        let published = try publisher.publish()
        #expect(refusedDuringImport.withLock { $0 })
        #expect(published.result == .published)
        #expect(published.newObjects == 2)
        #expect(published.newBytes == UInt64(large.count + small.count))
        // The refused early upload, then the engine's; the small one only ever went through the engine.
        #expect(try puts(largeOID) == 2)
        #expect(try puts(SHA256.hash(small).hex) == 1)
    }
}
