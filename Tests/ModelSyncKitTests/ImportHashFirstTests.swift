import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

/// A large file whose stat changed but whose size did not is hashed where it is before anything is copied, when
/// samples of it match the object its path had: a set copied afresh is not written into the store again.
@Suite("importing large files that may hold their previous bytes")
struct ImportHashFirstTests {
    static let size = 3 << 20

    /// Imports `models/` with `store`, returning the result and how each large file reached the store.
    func importSeeing(_ store: Store, _ directory: TemporaryDirectory, now: Date,
                      progress: ProgressHandler? = nil) throws -> (ImportResult, [LargeFileImport]) {
        let seen = Mutex<[LargeFileImport]>([])
        let result = try Store.$largeFileObserver.withValue({ step in seen.withLock { $0.append(step) } }) {
            try store.importDirectory(directory.path + "/models", progress: progress, now: now)
        }
        return (result, seen.withLock { $0 })
    }

    /// Replaces `models/<name>` by a new file (new inode) holding `bytes`, aged past the racy window.
    func rewrite(_ directory: TemporaryDirectory, _ name: String, _ bytes: [UInt8]) throws {
        try FileManager.default.removeItem(atPath: directory.path + "/models/" + name)
        directory.write("models/" + name, bytes)
        directory.age("models/" + name, seconds: 30)
    }

    /// A store that imported `models/big.bin` holding `bytes` "a minute later" than the file was written; returns
    /// the folder, the store, that moment and the first import's result.
    func imported(_ bytes: [UInt8]) throws -> (TemporaryDirectory, Store, Date, ImportResult) {
        let directory = TemporaryDirectory()
        directory.write("models/big.bin", bytes)
        directory.age("models/big.bin")
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let later = Date().addingTimeInterval(60)
        let (first, steps) = try importSeeing(store, directory, now: later)
        #expect(steps == [.copied("big.bin")])
        return (directory, store, later, first)
    }

    @Test("a large file copied afresh with the same bytes is hashed in place and not copied into the store again")
    func copiedAfreshIsNotCopiedAgain() throws {
        let bytes = pseudoRandomBytes(count: Self.size, seed: 1)
        let (directory, store, later, first) = try imported(bytes)

        try rewrite(directory, "big.bin", bytes)
        let (second, steps) = try importSeeing(store, directory, now: later.addingTimeInterval(60))
        #expect(steps == [.foundByHashing("big.bin")])
        #expect(second.manifest == first.manifest)
        #expect(second.cachedFiles == 0 && second.newObjects == 0 && second.createdObjects.isEmpty)
        // Hashed after its change, the file is cached under its new key: the next import reads nothing.
        let (third, thirdSteps) = try importSeeing(store, directory, now: later.addingTimeInterval(120))
        #expect(thirdSteps.isEmpty && third.cachedFiles == 1 && third.manifest == first.manifest)
    }

    @Test("a retrained file of the same size is copied and hashed in one pass, never hashed twice")
    func retrainedSameSizeIsCopiedOnce() throws {
        let (directory, store, later, _) = try imported(pseudoRandomBytes(count: Self.size, seed: 1))
        let retrained = pseudoRandomBytes(count: Self.size, seed: 2)
        try rewrite(directory, "big.bin", retrained)
        let (second, steps) = try importSeeing(store, directory, now: later.addingTimeInterval(60))
        #expect(steps == [.copied("big.bin")])
        #expect(second.newObjects == 1)
        let digest = try #require(try store.manifest(second.manifest).files.first?.digest)
        #expect(digest == SHA256.hash(retrained))
    }

    @Test("a file whose samples match but whose bytes changed between them is hashed, not found, copied, and stored right")
    func changedBetweenSamples() throws {
        var bytes = pseudoRandomBytes(count: Self.size, seed: 1)
        let (directory, store, later, first) = try imported(bytes)

        // One byte flipped away from the start, middle and end samples.
        bytes[500_000] ^= 0xFF
        try rewrite(directory, "big.bin", bytes)
        let reports = Mutex<[ModelSyncKit.Progress]>([])
        let (second, steps) = try importSeeing(store, directory, now: later.addingTimeInterval(60)) { progress in
            reports.withLock { $0.append(progress) }
        }
        #expect(steps == [.hashedThenCopied("big.bin")])
        #expect(second.manifest != first.manifest && second.newObjects == 1)
        let digest = try #require(try store.manifest(second.manifest).files.first?.digest)
        #expect(digest == SHA256.hash(bytes))
        #expect(store.objects.contains(digest) && FileManager.default.contents(atPath: store.layout.objectPath(digest)) == Data(bytes))
        // The file's bytes are counted once in the progress, though they were read twice.
        let seen = reports.withLock { $0 }
        #expect(seen.last?.completed == UInt64(Self.size))
        #expect(seen.allSatisfy { $0.completed <= ($0.total ?? 0) })
    }

    @Test("a file grown or shrunk since is copied as any new file")
    func differentSizeIsCopied() throws {
        let (directory, store, later, _) = try imported(pseudoRandomBytes(count: Self.size, seed: 1))
        try rewrite(directory, "big.bin", pseudoRandomBytes(count: Self.size + 1, seed: 1))
        let (_, steps) = try importSeeing(store, directory, now: later.addingTimeInterval(60))
        #expect(steps == [.copied("big.bin")])
    }
}
