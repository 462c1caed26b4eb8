import Foundation
import Testing
@testable import ModelSyncKit

/// A repository held in memory, keeping blobs, manifests by digest and tags as distribution does (a
/// manifest deleted by digest takes its tags with it). `beforeTagMove` runs before each tag is written.
final class MemoryOCIRepository: OCIRepository, @unchecked Sendable {
    // @unchecked: the tests use it from one thread at a time.
    var blobs: [Digest: [UInt8]] = [:]
    var manifests: [Digest: [UInt8]] = [:]
    var tagged: [String: Digest] = [:]
    var uploads: [Digest] = []
    /// Every request that reads a manifest or a small blob, in order.
    var reads: [String] = []
    var beforeTagMove: ((String) -> Void)?

    func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> { Set(digests.filter { blobs[$0] == nil }) }

    func uploadBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs, checkPresence: Bool) throws -> OCIPushSummary {
        var summary = OCIPushSummary()
        for entry in entries {
            let blob = try outgoing.verified(entry)
            blobs[entry.digest] = try FileSystem.readAll(blob.path)
            uploads.append(entry.digest)
            summary.uploaded += 1
            summary.uploadedBytes += entry.size
        }
        return summary
    }

    func putBlob(bytes: [UInt8]) throws -> Digest {
        let digest = SHA256.hash(bytes)
        blobs[digest] = bytes
        return digest
    }

    func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        for entry in entries {
            let incoming = try sink.open(entry)
            do {
                try (blobs[entry.digest] ?? []).withUnsafeBytes { try incoming.write($0) }
                try incoming.finish()
            } catch {
                incoming.abandon()
                sink.markFailed(entry)
                throw error
            }
        }
    }

    func blobBytes(_ digest: Digest, maxBytes: Int) throws -> [UInt8] {
        reads.append(digest.description)
        guard let bytes = blobs[digest], bytes.count <= maxBytes else { throw UsageError("no blob \(digest)") }
        return bytes
    }

    func fetchManifest(_ reference: String) throws -> OCIStoredManifest? {
        reads.append(reference)
        let digest = (try? Digest(parsing: reference)) ?? tagged[reference]
        guard let digest, let bytes = manifests[digest] else { return nil }
        return OCIStoredManifest(bytes: bytes, mediaType: OCIImageManifest.mediaType, digest: digest)
    }

    func putManifest(_ bytes: [UInt8], mediaType: String, reference: String) throws -> Digest {
        let digest = SHA256.hash(bytes)
        manifests[digest] = bytes
        if (try? Digest(parsing: reference)) == nil {
            beforeTagMove?(reference)
            tagged[reference] = digest
        }
        return digest
    }

    func deleteManifest(_ digest: Digest) throws {
        manifests[digest] = nil
        tagged = tagged.filter { $0.value != digest }
    }

    func tags() throws -> [String] { tagged.keys.sorted() }
}

@Suite("OCIRegistry: publish and pull a set through the transfer engine, history and gc")
struct OCIRegistryTests {
    private func makeStore(_ directory: TemporaryDirectory, _ name: String) throws -> Store {
        try Store.open(at: directory.path + "/" + name, lockTimeout: 1)
    }

    private func publish(_ files: [String: [UInt8]], store: Store, registry: OCIRegistry, directory: TemporaryDirectory,
                         at time: TimeInterval) throws -> (Manifest, TransferEngine.Published) {
        let folder = directory.path + "/folder-\(UUID().uuidString)"
        for (path, bytes) in files { directory.write(String(folder.dropFirst(directory.path.count + 1)) + "/" + path, bytes) }
        let manifest = try store.manifest(try store.importDirectory(folder).manifest)
        registry.now = { Date(timeIntervalSince1970: time) }
        return (manifest, try TransferEngine(store: store).publish(manifest, to: registry, channel: "latest"))
    }

    @Test("a published set pulls into an empty store; v2 uploads only its changed blob; tags: channel + digest tag")
    func publishPull() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let registry = OCIRegistry(repository: repository, name: "127.0.0.1:5000/models")
        let publisher = try makeStore(directory, "publisher")
        let a = pseudoRandomBytes(count: 3000, seed: 1), b = pseudoRandomBytes(count: 2000, seed: 2)
        let (v1, first) = try publish(["a.bin": a, "sub/b.bin": b], store: publisher, registry: registry,
                                      directory: directory, at: 1_000)
        #expect(first.newObjects == 2)
        #expect(Set(try repository.tags()) == ["latest", OCIRegistry.digestTag(v1.digest)])
        #expect(repository.blobs[v1.digest] == v1.canonicalBytes)

        let client = try makeStore(directory, "client")
        let pulled = try TransferEngine(store: client).pull(from: OCIRegistry(repository: repository, name: "r"), channel: "latest")
        #expect(pulled.manifest == v1 && pulled.fetchedObjects == 2)

        repository.uploads = []
        let changed = pseudoRandomBytes(count: 100, seed: 3)
        let (v2, second) = try publish(["a.bin": changed, "sub/b.bin": b], store: publisher, registry: registry,
                                       directory: directory, at: 2_000)
        #expect(second.newObjects == 1 && repository.uploads == [SHA256.hash(changed)])
        let again = try TransferEngine(store: client).pull(from: OCIRegistry(repository: repository, name: "r"), channel: "latest")
        #expect(again.manifest == v2 && again.fetchedObjects == 1)

        let history = try OCIRegistry(repository: repository, name: "r").publishedSets()
        #expect(history.map(\.manifest) == [v2.digest, v1.digest])
        #expect(history.first?.files == 2 && history.first?.bytes == 2100)
        // Publishing the same set again changes nothing.
        #expect(try TransferEngine(store: publisher).publish(v2, to: registry, channel: "latest").receipt == nil)
    }

    @Test("a pull's second reading of the channel and the manifest (under the store lock) makes no request")
    func readsOnce() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let (v1, _) = try publish(["a.bin": pseudoRandomBytes(count: 300, seed: 1)], store: try makeStore(directory, "p"),
                                  registry: OCIRegistry(repository: repository, name: "r"), directory: directory, at: 1)
        let source = OCIRegistry(repository: repository, name: "r")
        #expect(try source.channel("latest") == v1.digest)
        #expect(try source.manifestBytes(v1.digest) == v1.canonicalBytes)
        let before = repository.reads
        #expect(try source.channel("latest") == v1.digest)
        #expect(try source.manifestBytes(v1.digest) == v1.canonicalBytes)
        #expect(repository.reads == before)
    }

    @Test("the channel tag moved by another publisher meanwhile is a conflict; the engine starts over")
    func channelConflict() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let registry = OCIRegistry(repository: repository, name: "127.0.0.1:5000/models")
        let store = try makeStore(directory, "publisher")
        let (rival, _) = try publish(["r.bin": pseudoRandomBytes(count: 10, seed: 9)], store: store, registry: registry,
                                     directory: directory, at: 500)
        var moves = 0
        repository.beforeTagMove = { tag in
            // Just before each attempt re-reads the channel, another publisher moves it to a new image manifest.
            guard tag.hasPrefix("sha256-") else { return }
            moves += 1
            let bytes = OCISetMapping.imageManifest(for: rival, created: Date(timeIntervalSince1970: Double(600 + moves)))
                .canonicalBytes
            let digest = SHA256.hash(bytes)
            repository.manifests[digest] = bytes
            repository.tagged["latest"] = digest
        }
        let error = #expect(throws: OCIChannelConflict.self) {
            _ = try publish(["a.bin": pseudoRandomBytes(count: 10, seed: 1)], store: store, registry: registry,
                            directory: directory, at: 1_000)
        }
        #expect(moves == TransferEngine.publishAttempts)
        #expect(error?.category.exitCode == 4)
        #expect(error?.message.contains("127.0.0.1:5000/models:latest moved to") == true)
        // The channel still names the rival's set: this publish never overwrote it.
        #expect(try OCIRegistry(repository: repository, name: "r").channel("latest") == rival.digest)
    }

    @Test("an oras-pushed artifact (no model-sync config) pulls as a set built from its titled layers")
    func orasArtifact() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let one = pseudoRandomBytes(count: 500, seed: 5), two = pseudoRandomBytes(count: 700, seed: 6)
        let layers = [(one, "weights/one.bin"), (two, "two.bin")].map { bytes, title in
            OCIDescriptor(mediaType: OCISetMapping.layerMediaType, digest: try! repository.putBlob(bytes: bytes),
                          size: UInt64(bytes.count), annotations: [OCIImageManifest.titleAnnotation: title])
        }
        let image = OCISetMappingTests.orasImage(layers)
        _ = try repository.putManifest(image.canonicalBytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
        let store = try makeStore(directory, "client")
        let pulled = try TransferEngine(store: store).pull(from: OCIRegistry(repository: repository, name: "r"), channel: "latest")
        #expect(pulled.manifest.files.map(\.path) == ["two.bin", "weights/one.bin"])
        #expect(pulled.fetchedObjects == 2)
    }

    @Test("a blob whose bytes do not match its digest fails the pull with an integrity error naming the registry and file")
    func wrongBytes() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let registry = OCIRegistry(repository: repository, name: "127.0.0.1:5000/models")
        let (v1, _) = try publish(["a.bin": pseudoRandomBytes(count: 300, seed: 1)], store: try makeStore(directory, "p"),
                                  registry: registry, directory: directory, at: 1)
        repository.blobs[v1.files[0].digest] = pseudoRandomBytes(count: 300, seed: 2)
        let client = try makeStore(directory, "client")
        let error = #expect(throws: IntegrityError.self) {
            _ = try TransferEngine(store: client).pull(from: OCIRegistry(repository: repository, name: "127.0.0.1:5000/models"),
                                                       channel: "latest")
        }
        #expect(error?.message.hasPrefix("127.0.0.1:5000/models blob \(v1.files[0].digest) (a.bin): ") == true, "\(error?.message ?? "")")
        #expect(!client.objects.contains(v1.files[0].digest))
    }

    @Test("a config blob whose layers disagree with it is refused before any blob moves")
    func configLayersDisagree() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let registry = OCIRegistry(repository: repository, name: "r")
        let (v1, _) = try publish(["a.bin": pseudoRandomBytes(count: 300, seed: 1)], store: try makeStore(directory, "p"),
                                  registry: registry, directory: directory, at: 1)
        var image = OCISetMapping.imageManifest(for: v1, created: Date())
        image.layers[0].annotations = [OCIImageManifest.titleAnnotation: "other.bin"]
        _ = try repository.putManifest(image.canonicalBytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
        let error = #expect(throws: IntegrityError.self) {
            _ = try TransferEngine(store: try makeStore(directory, "c")).pull(from: OCIRegistry(repository: repository, name: "r"),
                                                                             channel: "latest")
        }
        #expect(error?.message.contains("has no layer") == true, "\(error?.message ?? "")")
    }

    @Test("gc deletes the sets beyond keep, newest kept, never the channel's, and their digest tags go too")
    func collect() throws {
        let directory = TemporaryDirectory()
        let repository = MemoryOCIRepository()
        let registry = OCIRegistry(repository: repository, name: "r")
        let store = try makeStore(directory, "p")
        var digests: [Digest] = []
        for round in 0..<3 {
            digests.append(try publish(["a.bin": pseudoRandomBytes(count: 10 + round, seed: 1)], store: store,
                                       registry: registry, directory: directory, at: Double(round * 100)).0.digest)
        }
        // The channel goes back to the oldest set: it is kept whatever its age.
        _ = try publish(["a.bin": pseudoRandomBytes(count: 10, seed: 1)], store: store, registry: registry,
                        directory: directory, at: 50)
        let dry = try registry.collectGarbage(keep: 1, channel: "latest", dryRun: true)
        #expect(dry.kept.map(\.manifest) == [digests[2], digests[0]])
        #expect(dry.removed.map(\.manifest) == [digests[1]])
        #expect(repository.tagged[OCIRegistry.digestTag(digests[1])] != nil)
        _ = try registry.collectGarbage(keep: 1, channel: "latest", dryRun: false)
        #expect(Set(try repository.tags()) == ["latest", OCIRegistry.digestTag(digests[0]), OCIRegistry.digestTag(digests[2])])
    }
}
