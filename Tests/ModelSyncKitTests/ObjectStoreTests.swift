#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

@Suite("ObjectStore write protocol")
struct ObjectStoreTests {
    private func makeStore(_ directory: TemporaryDirectory) throws -> ObjectStore {
        let store = ObjectStore(layout: StoreLayout(root: directory.path + "/store"))
        try store.prepare()
        return store
    }

    @Test("an inserted object is named by its digest under a two-character fan-out, read-only, and tmp/ is empty")
    func layoutAndMode() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let source = directory.write("model.bin", pseudoRandomBytes(count: 2_500_000, seed: 7))
        let insertion = try store.insert(fileAt: source)
        #expect(insertion.created)
        #expect(insertion.size == 2_500_000)
        let path = store.path(of: insertion.digest)
        #expect(path == directory.path + "/store/objects/sha256/\(insertion.digest.hex.prefix(2))/\(insertion.digest.hex)")
        let info = try #require(try FileSystem.status(path))
        #expect(info.st_mode & 0o7777 == 0o444)
        #expect(try ObjectStore.hashFile(at: path).digest == insertion.digest)
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
    }

    @Test("an existing object is never rewritten: a second insert leaves the first file (same inode)")
    func neverRewritten() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let source = directory.write("a.bin", pseudoRandomBytes(count: 10_000, seed: 1))
        let first = try store.insert(fileAt: source)
        let inode = try #require(try FileSystem.status(store.path(of: first.digest))).st_ino
        let second = try store.insert(fileAt: source)
        #expect(!second.created)
        #expect(try #require(try FileSystem.status(store.path(of: first.digest))).st_ino == inode)
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
    }

    @Test("bytes that do not hash to the expected digest are refused and leave nothing behind")
    func expectedDigestMismatch() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let expected = SHA256.hash(Array("something else".utf8))
        #expect(throws: IntegrityError.self) { try store.insert(bytes: Array("payload".utf8), expected: expected) }
        #expect(!store.contains(expected))
        #expect(!store.contains(SHA256.hash(Array("payload".utf8))))
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        let writer = try ObjectWriter(store: store)
        try Array("12345".utf8).withUnsafeBytes { try writer.write($0) }
        #expect(throws: IntegrityError.self) { try writer.commit(expected: nil, expectedSize: 4) }
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
    }

    @Test("writers racing for the same object all succeed and leave exactly one good copy")
    func racingWriters() throws {
        // link(2) is atomic between threads and processes alike: exactly one writer creates the name.
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let source = directory.write("big.bin", pseudoRandomBytes(count: 4_000_000, seed: 9))
        let created = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                if try store.insert(fileAt: source).created { created.add(1, ordering: .relaxed) }
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(created.load(ordering: .relaxed) == 1)
        let (objects, strays) = try store.enumerate()
        #expect(objects.count == 1 && strays.isEmpty)
        #expect(try ObjectStore.hashFile(at: store.path(of: objects[0])).digest == objects[0])
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
    }

    @Test("two model-sync processes inserting the same blob into one objects/ both succeed")
    func racingProcesses() throws {
        // Two stores with their own index and lock but one objects/ tree (a symlink), so the locks do not
        // serialize them: only the write protocol keeps the object whole.
        let directory = TemporaryDirectory()
        directory.write("models/big.bin", pseudoRandomBytes(count: 8_000_000, seed: 11))
        try FileManager.default.createDirectory(atPath: directory.path + "/a/objects", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.path + "/b", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/b/objects", withDestinationPath: directory.path + "/a/objects")
        let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/.build/debug/model-sync"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("the model-sync binary is not built at \(binary)")
            return
        }
        var processes: [Process] = []
        for store in ["a", "b"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["import", directory.path + "/models", "--store", directory.path + "/" + store, "-q"]
            processes.append(process)
        }
        for process in processes { try process.run() }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let store = ObjectStore(layout: StoreLayout(root: directory.path + "/a"))
        let (objects, _) = try store.enumerate()
        #expect(objects.count == 2) // the blob and the manifest
        for digest in objects { #expect(try ObjectStore.hashFile(at: store.path(of: digest)).digest == digest) }
    }
}
