#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

/// The SHA-256 of `bytes`.
private func digest(of bytes: [UInt8]) -> Digest { SHA256.hash(bytes) }

/// A transport held in memory: channels, manifests and blobs in dictionaries, with switches for the failures
/// a real one meets (a blob that is not there, bytes that are not what they claim, a rival publisher).
final class MemoryTransport: TransferSource, TransferDestination {
    struct Conflict: Error {}

    var channels: [String: Digest] = [:]
    var manifests: [Digest: [UInt8]] = [:]
    var blobs: [Digest: [UInt8]] = [:]
    /// Blobs the transport swears it holds but serves with other bytes.
    var tampered: [Digest: [UInt8]] = [:]
    var keeps = true
    /// Called before each channel move; returning true makes it lose the race (a rival moved the channel).
    var rivalMoves: () -> Bool = { false }
    private(set) var blobsRead: [Digest] = []
    private(set) var blobsPut: [Digest] = []
    private(set) var attempts = 0

    // TransferSource
    func channel(_ name: String) throws -> Digest {
        guard let digest = channels[name] else { throw UsageError("no channel \(name)") }
        return digest
    }
    func manifestBytes(_ digest: Digest) throws -> [UInt8] {
        guard let bytes = manifests[digest] else { throw IntegrityError(.missingObject, "no manifest \(digest)") }
        return bytes
    }
    func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws {
        if let absent = missing.first(where: { blobs[$0.digest] == nil && tampered[$0.digest] == nil }) {
            throw IntegrityError(.missingObject, "memory has no \(absent.path)")
        }
    }
    func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        blobsRead.append(entry.digest)
        let bytes = tampered[entry.digest] ?? blobs[entry.digest]!
        // Two chunks, as a network transport would deliver them.
        let half = bytes.count / 2
        try bytes[..<half].withUnsafeBytes(body)
        try bytes[half...].withUnsafeBytes(body)
    }
    func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError {
        IntegrityError(failure.code, "memory \(entry?.path ?? "manifest"): \(failure.message)")
    }
    var keepsVerifiedBlobsOnFailure: Bool { keeps }

    // TransferDestination
    func beginPublish() throws -> any PublishSession {
        attempts += 1
        return Session(transport: self, base: channels)
    }
    func lostRace(_ last: any Error) -> any Error { UsageError("lost the race") }

    final class Session: PublishSession {
        let transport: MemoryTransport
        let base: [String: Digest]
        var staged: [Digest: [UInt8]] = [:]
        var stagedManifests: [Digest: [UInt8]] = [:]
        init(transport: MemoryTransport, base: [String: Digest]) {
            self.transport = transport
            self.base = base
        }
        func channel(_ name: String) throws -> Digest? { base[name] }
        func hasManifest(_ digest: Digest) throws -> Bool { transport.manifests[digest] != nil }
        func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> { Set(digests.filter { transport.blobs[$0] == nil }) }
        func putBlob(_ blob: OutgoingBlob) throws {
            transport.blobsPut.append(blob.digest)
            staged[blob.digest] = Array(try Data(contentsOf: URL(fileURLWithPath: blob.path)))
        }
        func putManifest(_ manifest: Manifest) throws { stagedManifests[manifest.digest] = manifest.canonicalBytes }
        func moveChannel(_ name: String, to digest: Digest, expecting expected: Digest?,
                         summary: PublishSummary) throws -> ChannelUpdate {
            if transport.rivalMoves() { return .conflict(Conflict()) }
            guard transport.channels[name] == expected else { return .conflict(Conflict()) }
            transport.blobs.merge(staged) { old, _ in old }
            transport.manifests.merge(stagedManifests) { old, _ in old }
            transport.channels[name] = digest
            return .moved(receipt: "move-\(transport.attempts)")
        }
    }

    /// Publishes `files` (path → bytes) straight into the transport, as another publisher would.
    @discardableResult
    func seed(_ files: [String: [UInt8]], channel: String = "latest") throws -> Manifest {
        let manifest = try Manifest(files: files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: digest(of: $0.value)) })
        for bytes in files.values { blobs[digest(of: bytes)] = bytes }
        manifests[manifest.digest] = manifest.canonicalBytes
        channels[channel] = manifest.digest
        return manifest
    }
}

@Suite("the transfer engine, against a transport held in memory")
struct TransferEngineTests {
    private func makeStore(_ directory: TemporaryDirectory) throws -> Store {
        try Store.open(at: directory.path + "/store", lockTimeout: 1)
    }

    /// Distinct bytes for each `seed` (the generator ignores a seed's lowest bit).
    private func bytes(_ seed: UInt64, _ count: Int = 3000) -> [UInt8] { pseudoRandomBytes(count: count, seed: seed << 1) }

    @Test("a pull fetches only the blobs the store lacks, once each, and records the manifest")
    func pullFetchesOnlyMissing() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let shared = bytes(1)
        _ = try store.objects.insert(bytes: shared)
        let remote = MemoryTransport()
        let manifest = try remote.seed(["a.bin": shared, "b.bin": bytes(2), "copy-of-b.bin": bytes(2)])

        let pulled = try TransferEngine(store: store).pull(from: remote, channel: "latest")
        #expect(pulled.manifest == manifest)
        #expect(pulled.fetchedObjects == 1)
        #expect(pulled.fetchedBytes == 3000)
        #expect(remote.blobsRead == [digest(of: bytes(2))])
        #expect(try store.manifest(manifest.digest) == manifest)

        let again = try TransferEngine(store: store).pull(from: remote, channel: "latest")
        #expect(again.fetchedObjects == 0)
        #expect(remote.blobsRead.count == 1)
    }

    @Test("a manifest whose bytes do not hash to the channel's digest is refused before any blob moves")
    func manifestChecked() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let remote = MemoryTransport()
        let manifest = try remote.seed(["a.bin": bytes(3)])
        let other = try Manifest(files: [ManifestEntry(path: "x.bin", size: 1, digest: digest(of: [7]))])
        remote.manifests[manifest.digest] = other.canonicalBytes

        let error = #expect(throws: IntegrityError.self) { try TransferEngine(store: store).pull(from: remote, channel: "latest") }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.hasPrefix("memory manifest: ") == true)
        #expect(remote.blobsRead.isEmpty)
    }

    @Test("a blob served with other bytes never enters the store; a registry keeps the blobs verified before it")
    func tamperedBlobKeepsVerified() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let remote = MemoryTransport()
        let good = bytes(4)
        let bad = bytes(5)
        // "a" sorts first, so its blob is verified and stored before "b" fails.
        try remote.seed(["a.bin": good, "b.bin": bad])
        remote.tampered[digest(of: bad)] = bytes(6)

        let error = #expect(throws: IntegrityError.self) { try TransferEngine(store: store).pull(from: remote, channel: "latest") }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.hasPrefix("memory b.bin: ") == true)
        #expect(!store.objects.contains(digest(of: bad)))
        #expect(!store.objects.contains(digest(of: bytes(6))))
        #expect(store.objects.contains(digest(of: good)))
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
    }

    @Test("a source that keeps nothing on failure leaves the store exactly as it was")
    func archiveUndo() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let before = try store.objects.enumerate().objects
        let remote = MemoryTransport()
        remote.keeps = false
        let bad = bytes(8)
        try remote.seed(["a.bin": bytes(7), "b.bin": bad])
        remote.tampered[digest(of: bad)] = Array(bad.dropLast())

        let error = #expect(throws: IntegrityError.self) { try TransferEngine(store: store).pull(from: remote, channel: "latest") }
        #expect(error?.code == .sizeMismatch)
        #expect(try store.objects.enumerate().objects == before)
        #expect(try FileSystem.list(store.layout.objects + "/sha256").isEmpty)
    }

    @Test("a set the source cannot complete is refused before any byte is written")
    func unavailableRefusedFirst() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let remote = MemoryTransport()
        let missing = bytes(10)
        try remote.seed(["a.bin": bytes(9), "z.bin": missing])
        remote.blobs[digest(of: missing)] = nil

        let error = #expect(throws: IntegrityError.self) { try TransferEngine(store: store).pull(from: remote, channel: "latest") }
        #expect(error?.message == "memory has no z.bin")
        #expect(remote.blobsRead.isEmpty)
        #expect(try store.objects.enumerate().objects.isEmpty)
    }

    @Test("a publish sends only the blobs the destination lacks, then moves the channel; again it is up to date")
    func publishSendsOnlyMissing() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let remote = MemoryTransport()
        let old = try remote.seed(["a.bin": bytes(11)])
        let local = directory.path + "/models"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        try Data(bytes(11)).write(to: URL(fileURLWithPath: local + "/a.bin"))
        try Data(bytes(12)).write(to: URL(fileURLWithPath: local + "/b.bin"))
        let imported = try store.importDirectory(local)
        let manifest = try store.manifest(imported.manifest)

        let published = try TransferEngine(store: store).publish(manifest, to: remote, channel: "latest")
        #expect(published.receipt == "move-1")
        #expect(published.newObjects == 1 && published.newBytes == 3000)
        #expect(remote.blobsPut == [digest(of: bytes(12))])
        #expect(remote.channels["latest"] == manifest.digest)
        #expect(remote.manifests[manifest.digest] == manifest.canonicalBytes)
        #expect(remote.manifests[old.digest] != nil)

        let again = try TransferEngine(store: store).publish(manifest, to: remote, channel: "latest")
        #expect(again.receipt == nil && again.newObjects == 0)
        #expect(remote.blobsPut.count == 1)
    }

    @Test("a publish that loses the race starts over on the new state once, then reports the lost race")
    func publishRace() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let manifest = try Manifest(files: [ManifestEntry(path: "a.bin", size: 3000, digest: try store.objects.insert(bytes: bytes(13)).digest)])
        try store.recordManifest(manifest)

        let remote = MemoryTransport()
        var rivals = 1
        remote.rivalMoves = {
            defer { rivals -= 1 }
            return rivals > 0
        }
        let published = try TransferEngine(store: store).publish(manifest, to: remote, channel: "latest")
        #expect(published.receipt == "move-2")
        #expect(remote.attempts == 2)

        let loser = MemoryTransport()
        loser.rivalMoves = { true }
        let error = #expect(throws: UsageError.self) { try TransferEngine(store: store).publish(manifest, to: loser, channel: "latest") }
        #expect(error?.message == "lost the race")
        #expect(loser.attempts == TransferEngine.publishAttempts)
        #expect(loser.channels.isEmpty)
    }

    @Test("a blob that rotted in the store never leaves it: the publish fails before the channel moves")
    func rottenBlobNotPublished() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let insertion = try store.objects.insert(bytes: bytes(14))
        let manifest = try Manifest(files: [ManifestEntry(path: "a.bin", size: 3000, digest: insertion.digest)])
        let path = store.objects.path(of: insertion.digest)
        chmod(path, 0o644)
        try Data(bytes(15)).write(to: URL(fileURLWithPath: path))

        let remote = MemoryTransport()
        let error = #expect(throws: IntegrityError.self) { try TransferEngine(store: store).publish(manifest, to: remote, channel: "latest") }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.contains("(a.bin) hashes to") == true)
        #expect(remote.blobsPut.isEmpty)
        #expect(remote.channels.isEmpty)
    }

    @Test("objects the publish's own import just wrote are not hashed again, but still checked for size; older ones are hashed")
    func freshObjectsNotHashedAgain() throws {
        let directory = TemporaryDirectory("engine")
        let store = try makeStore(directory)
        let fresh = try store.objects.insert(bytes: bytes(16))
        let older = try store.objects.insert(bytes: bytes(17))
        let manifest = try Manifest(files: [ManifestEntry(path: "fresh.bin", size: 3000, digest: fresh.digest),
                                            ManifestEntry(path: "older.bin", size: 3000, digest: older.digest)])
        // Same size, other bytes: only a hash can tell.
        for digest in [fresh.digest, older.digest] {
            let path = store.objects.path(of: digest)
            chmod(path, 0o644)
            try Data(bytes(18)).write(to: URL(fileURLWithPath: path))
        }
        let remote = MemoryTransport()
        let engine = TransferEngine(store: store)
        let rotten = #expect(throws: IntegrityError.self) {
            try engine.publish(manifest, to: remote, channel: "latest", freshObjects: [fresh.digest])
        }
        #expect(rotten?.message.contains("(older.bin) hashes to") == true)
        #expect(remote.channels.isEmpty)

        // Both fresh: the bytes are taken as written (the import hashed them); a size that changed is refused.
        _ = try engine.publish(manifest, to: remote, channel: "latest", freshObjects: [fresh.digest, older.digest])
        #expect(remote.channels["latest"] == manifest.digest)
        let truncated = store.objects.path(of: fresh.digest)
        try Data(bytes(18).prefix(10)).write(to: URL(fileURLWithPath: truncated))
        let other = MemoryTransport()
        let resized = #expect(throws: IntegrityError.self) {
            try engine.publish(manifest, to: other, channel: "latest", freshObjects: [fresh.digest, older.digest])
        }
        #expect(resized?.code == .sizeMismatch)
        #expect(other.channels.isEmpty)
    }
}
