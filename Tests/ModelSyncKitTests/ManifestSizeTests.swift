#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

/// A manifest whose sizes cannot be true, and the entry points that must refuse it.
@Suite("a manifest whose sizes disagree with its blobs or with each other is refused everywhere")
struct ManifestSizeTests {
    private let content = Array("twelve bytes".utf8)
    private var digest: Digest { SHA256.hash(content) }

    @Test("one digest with two sizes is refused when made and when decoded, naming both paths")
    func twoSizes() throws {
        let entries = [ManifestEntry(path: "a.bin", size: 12, digest: digest),
                       ManifestEntry(path: "b.bin", size: 13, digest: digest)]
        let made = try #require(throws: IntegrityError.self) { try Manifest(files: entries) }
        #expect(made.message == "manifest lists \(digest) with two sizes: 12 bytes for \"a.bin\" and 13 for \"b.bin\"")
        let bytes = Array(#"{"files":[{"digest":"\#(digest)","mode":"0644","path":"a.bin","size":12},{"digest":"\#(digest)","mode":"0644","path":"b.bin","size":13}],"schema":"model-sync.manifest.v1"}"#.utf8)
        let decoded = try #require(throws: IntegrityError.self) { try Manifest.decode(bytes) }
        #expect(decoded.message == made.message)
        #expect(decoded.category.exitCode == 3)
    }

    @Test("the empty file's digest with a size, or size 0 with another digest, is refused")
    func emptyDigest() throws {
        let sized = try #require(throws: IntegrityError.self) {
            try Manifest(files: [ManifestEntry(path: "a", size: 5, digest: .empty)])
        }
        #expect(sized.message.contains("only the empty file, of size 0, has the digest"))
        #expect(throws: IntegrityError.self) { try Manifest(files: [ManifestEntry(path: "a", size: 0, digest: digest)]) }
        #expect(try Manifest(files: [ManifestEntry(path: "a", size: 0, digest: .empty)]).files.count == 1)
    }

    @Test("a pull of a manifest that lies about a blob the store holds is refused before it is recorded")
    func pullOfStoredBlob() throws {
        let directory = TemporaryDirectory("sizes")
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        _ = try store.objects.insert(bytes: content)
        let remote = MemoryTransport()
        let lie = try Manifest(files: [ManifestEntry(path: "a.bin", size: 99, digest: digest)])
        remote.manifests[lie.digest] = lie.canonicalBytes
        remote.channels["latest"] = lie.digest
        let error = try #require(throws: IntegrityError.self) {
            try TransferEngine(store: store).pull(from: remote, channel: "latest")
        }
        #expect(error.code == .sizeMismatch)
        #expect(error.message == "manifest entry \"a.bin\" says 99 bytes, but object \(digest) holds 12")
        #expect(!store.objects.contains(lie.digest))
    }

    @Test("activating a manifest that lies about a blob's size is refused; the active set stays")
    func activation() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let lie = try Manifest(files: [ManifestEntry(path: "a.bin", size: 99, digest: digest)])
        _ = try fixture.store.objects.insert(bytes: content)
        try fixture.store.recordManifest(lie)
        let error = try #require(throws: IntegrityError.self) { try fixture.activate(lie.digest) }
        #expect(error.code == .sizeMismatch)
        #expect(fixture.generations.activeNumber == 1)
    }

    @Test("fsck --repair does not claim to re-make a file whose object rotted with it")
    func repairThatCannotSucceed() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        // The generation file and its object shrink together (they share an inode): nothing in the store
        // can give the file the size its manifest lists.
        let file = fixture.modelsDir + "/a.bin"
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: fixture.modelsDir)
        chmod(file, 0o644)
        #expect(truncate(file, 10) == 0)
        chmod(file, 0o444)
        let report = try Fsck(store: fixture.store, repair: true, modelsDir: fixture.modelsDir, progress: nil).run()
        #expect(!report.ok)
        #expect(!report.repaired.contains { $0.path == target + "/a.bin" && $0.action == "rematerialized" },
                "\(report.repaired)")
        #expect(report.remainingProblems.contains { $0.contains("a.bin") }, "\(report.remainingProblems)")
    }

    @Test("a repair that cannot succeed is not claimed: the problem stays, with the reason, and fsck goes on")
    func repairThatFails() throws {
        let fixture = try StoreFixture()
        // A leftover folder in tmp/ holding a name that is not UTF-8: the tree removal cannot name it.
        let leftover = fixture.store.layout.tmp + "/upload-1"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        let name = Array((leftover + "/bad").utf8) + [0xFF, 0]
        let descriptor = name.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { open($0, O_WRONLY | O_CREAT, 0o644) }
        }
        #expect(descriptor >= 0)
        close(descriptor)
        let stray = fixture.directory.write("store/objects/sha256/zz/not-an-object", [3])
        let report = try Fsck(store: fixture.store, repair: true, modelsDir: fixture.modelsDir, progress: nil).run()
        #expect(!report.repaired.contains { $0.path == leftover }, "\(report.repaired)")
        #expect(report.remainingProblems.contains { $0.hasPrefix("leftover temporary file \(leftover) (not repaired: ") },
                "\(report.remainingProblems)")
        #expect(!report.ok)
        // The next problem was still repaired.
        #expect(report.repaired.contains { $0.path == stray && $0.action == "removed" })
        #expect(!FileManager.default.fileExists(atPath: stray))
    }

    @Test("a removal is reported only once nothing is left at the path")
    func removalRechecked() throws {
        #expect(throws: IOError.self) { try Fsck.requireGone("/") }
        try Fsck.requireGone("/nonexistent-\(UUID().uuidString)")
    }
}
