#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

/// The batched write protocol of an import of many small objects: staged temp files, one sync, names,
/// one sync per fan-out directory, then the index.
@Suite("batched object writes")
struct ObjectBatchTests {
    private func makeStore(_ directory: TemporaryDirectory) throws -> ObjectStore {
        let store = ObjectStore(layout: StoreLayout(root: directory.path + "/store"))
        try store.prepare()
        return store
    }

    /// Every object file under `objects/` hashes to its name.
    private func expectObjectsMatchTheirNames(_ store: ObjectStore) throws {
        let (digests, strays) = try store.enumerate()
        #expect(strays.isEmpty)
        for digest in digests { #expect(try ObjectStore.hashFile(at: store.path(of: digest)).digest == digest) }
    }

    @Test("a staged object stays out of objects/ (a read-only temp file) until its round is committed")
    func stagedIsNotNamed() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let sources = (0..<3).map { directory.write("f\($0)", pseudoRandomBytes(count: 1_000 + $0, seed: UInt64($0))) }
        let batch = try ObjectBatch(store: store)
        let tickets = try sources.map { try batch.stage(fileAt: $0) }
        #expect(tickets.map(\.ticket) == [0, 1, 2] && tickets.map(\.size) == [1_000, 1_001, 1_002])
        #expect(try store.enumerate().objects.isEmpty)
        let temporary = try FileSystem.list(store.layout.tmp)
        #expect(temporary.count == 3)
        for name in temporary {
            #expect(try #require(try FileSystem.status(store.layout.tmp + "/" + name)).st_mode & 0o222 == 0)
        }
        let insertions = try batch.commit()
        #expect(insertions.count == 3 && insertions.allSatisfy(\.created))
        for (insertion, source) in zip(insertions, sources) {
            #expect(insertion.digest == (try ObjectStore.hashFile(at: source)).digest)
            #expect(store.contains(insertion.digest))
        }
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        try expectObjectsMatchTheirNames(store)
    }

    @Test("with an fsync per file instead of one syncfs (old kernels, other filesystems) a round is just as whole",
          arguments: [true, false])
    func bothSyncs(syncsFilesystem: Bool) throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store, syncsFilesystem: syncsFilesystem)
        for index in 0..<10 { _ = try batch.stage(fileAt: directory.write("f\(index)", pseudoRandomBytes(count: 50 + index, seed: UInt64(index)))) }
        let steps = StepLog()
        let insertions = try ObjectBatch.$observer.withValue(steps.record) { try batch.commit() }
        #expect(insertions.count == 10 && insertions.allSatisfy(\.created))
        #expect(steps.all.first == .synced(count: 10))
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        try expectObjectsMatchTheirNames(store)
    }

    @Test("one syncfs is trusted on this test machine's local filesystem, and only with a kernel that reports its errors")
    func trustedFilesystem() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        #expect(!batch.syncsFilesystem || DurableFile.filesystemSyncReportsErrors)
        // ext4, XFS, btrfs, tmpfs: the filesystems CI and development machines run on.
        let type = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let local = ["ext4", "xfs", "btrfs", "tmpfs"]
        let mounts = type.split(separator: "\n").compactMap { line -> (point: String, type: String)? in
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields.count > 4 else { return nil }
            return (String(fields[4]), String(fields[dash + 1]))
        }
        let holder = mounts.filter { directory.path.hasPrefix($0.point == "/" ? "/" : $0.point + "/") }
            .max { $0.point.count < $1.point.count }
        if let holder, local.contains(holder.type), DurableFile.filesystemSyncReportsErrors {
            #expect(batch.syncsFilesystem, "\(holder)")
        }
    }

    @Test("an object already stored, or staged twice in a round, is named once and never rewritten")
    func duplicates() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let old = directory.write("old", pseudoRandomBytes(count: 500, seed: 1))
        let twice = directory.write("twice", pseudoRandomBytes(count: 600, seed: 2))
        let stored = try store.insert(fileAt: old)
        let inode = try #require(try FileSystem.status(store.path(of: stored.digest))).st_ino
        let batch = try ObjectBatch(store: store)
        _ = try batch.stage(fileAt: old)
        #expect(try FileSystem.list(store.layout.tmp).isEmpty, "an object already stored leaves no temp file")
        _ = try batch.stage(fileAt: twice)
        _ = try batch.stage(fileAt: twice)
        let insertions = try batch.commit()
        #expect(insertions.map(\.created) == [false, true, false])
        #expect(try #require(try FileSystem.status(store.path(of: stored.digest))).st_ino == inode)
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        try expectObjectsMatchTheirNames(store)
    }

    @Test("commit syncs the temp files before naming any, and the fan-out folders after naming all")
    func stepOrder() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        for index in 0..<40 { _ = try batch.stage(fileAt: directory.write("f\(index)", pseudoRandomBytes(count: 100 + index, seed: UInt64(index)))) }
        let steps = StepLog()
        let insertions = try ObjectBatch.$observer.withValue(steps.record) { try batch.commit() }
        let log = steps.all
        #expect(log.first == .synced(count: 40))
        #expect(log.count == 42)
        guard case .directoriesSynced(let directories) = log.last else {
            Issue.record("the last step is not the directories' sync: \(String(describing: log.last))")
            return
        }
        // Every fan-out folder that gained an object is synced, and objects/sha256 too (they were new).
        let fanouts = Set(insertions.map { store.layout.objects + "/sha256/" + $0.digest.fanout })
        #expect(Set(directories) == fanouts.union([store.layout.objects + "/sha256"]))
        #expect(log.dropFirst().dropLast().allSatisfy { if case .placed(_, created: true) = $0 { true } else { false } })
    }

    @Test("an import records its objects only after every round is synced and named")
    func importOrder() throws {
        let directory = TemporaryDirectory()
        for index in 0..<30 { directory.write("models/d\(index % 4)/f\(index).bin", pseudoRandomBytes(count: 700 + index, seed: UInt64(index))) }
        directory.write("models/large.bin", pseudoRandomBytes(count: Int(ObjectBatch.largeObjectBytes) + 1, seed: 99))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let steps = StepLog()
        let result = try ObjectBatch.$observer.withValue(steps.record) { try store.importDirectory(directory.path + "/models") }
        #expect(result.newObjects == 31)
        let log = steps.all
        // One sync for the round's 30 small files; the large one was stored on its own.
        #expect(log.filter { if case .synced = $0 { true } else { false } } == [.synced(count: 30)])
        #expect(log.last == .recorded(count: 31))
        let directoriesSynced = try #require(log.firstIndex { if case .directoriesSynced = $0 { true } else { false } })
        #expect(directoriesSynced == log.count - 2, "the index was recorded before the names were durable")
        try expectObjectsMatchTheirNames(store.objects)
    }

    @Test("a round committed on its own thread while the next is staged: both whole, tickets per round, in order")
    func roundCommittedWhileNextIsStaged() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        let steps = StepLog()
        for index in 0..<20 { _ = try batch.stage(fileAt: directory.write("a\(index)", pseudoRandomBytes(count: 90 + index, seed: UInt64(index)))) }
        let first = RoundCommit(batch.takeRound(), of: batch, observer: steps.record)
        var second: [Int] = []
        for index in 0..<5 { second.append(try batch.stage(fileAt: directory.write("b\(index)", pseudoRandomBytes(count: 900 + index, seed: UInt64(50 + index)))).ticket) }
        #expect(second == [0, 1, 2, 3, 4])
        let firstInsertions = try first.wait()
        let secondInsertions = try RoundCommit(batch.takeRound(), of: batch, observer: steps.record).wait()
        #expect(firstInsertions.count == 20 && secondInsertions.count == 5)
        let all = firstInsertions + secondInsertions
        #expect(all.allSatisfy { $0.created })
        let synced = steps.all.enumerated().filter { if case .synced = $0.element { true } else { false } }.map(\.offset)
        let directoriesSynced = steps.all.enumerated().filter { if case .directoriesSynced = $0.element { true } else { false } }.map(\.offset)
        #expect(synced.count == 2 && directoriesSynced.count == 2)
        #expect(synced[0] < directoriesSynced[0] && directoriesSynced[0] < synced[1] && synced[1] < directoriesSynced[1])
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        try expectObjectsMatchTheirNames(store)
    }

    @Test("bytes streamed through an ObjectWriter are staged only when they match their expected digest and size")
    func stagedWriter() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        let bytes = pseudoRandomBytes(count: 3_000, seed: 5)
        let digest = SHA256.hash(bytes)
        func writer() throws -> ObjectWriter {
            let writer = try ObjectWriter(store: store)
            try bytes.withUnsafeBytes { try writer.write($0) }
            return writer
        }
        #expect(throws: IntegrityError.self) { try batch.stage(try writer(), expected: SHA256.hash(Array("other".utf8))) }
        #expect(throws: IntegrityError.self) { try batch.stage(try writer(), expected: digest, expectedSize: 2_999) }
        #expect(try FileSystem.list(store.layout.tmp).isEmpty, "a refused object leaves no temp file")
        #expect(try batch.stage(try writer(), expected: digest, expectedSize: 3_000).ticket == 0)
        let insertions = try batch.commit()
        #expect(insertions == [.init(digest: digest, size: 3_000, created: true)])
        try expectObjectsMatchTheirNames(store)
    }

    @Test("a round whose commit fails removes its temp files and the objects it had named")
    func failedCommit() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        for index in 0..<6 { _ = try batch.stage(fileAt: directory.write("f\(index)", pseudoRandomBytes(count: 300 + index, seed: UInt64(index)))) }
        // A temp file that vanished (say, a careless `rm`) makes naming it fail midway through the round.
        let victim = try #require(try FileSystem.list(store.layout.tmp).sorted().last)
        unlink(store.layout.tmp + "/" + victim)
        #expect(throws: IOError.self) { try batch.commit() }
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        #expect(try store.enumerate().objects.isEmpty)
    }

    @Test("abandon removes the temp files staged since the last commit")
    func abandon() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let batch = try ObjectBatch(store: store)
        for index in 0..<4 { _ = try batch.stage(fileAt: directory.write("f\(index)", pseudoRandomBytes(count: 10 + index, seed: UInt64(index)))) }
        #expect(try FileSystem.list(store.layout.tmp).count == 4)
        batch.abandon()
        #expect(try FileSystem.list(store.layout.tmp).isEmpty)
        #expect(try batch.commit().isEmpty)
    }

    @Test("rounds hold at most maximumCount items and maximumBytes bytes, in order, none empty")
    func rounds() {
        let count = ObjectBatch.maximumCount
        #expect(ObjectBatch.rounds(count: 0) { _ in 1 }.isEmpty)
        #expect(ObjectBatch.rounds(count: count * 2 + 1) { _ in 1 } == [0..<count, count..<count * 2, count * 2..<count * 2 + 1])
        let quarter = ObjectBatch.maximumBytes / 4
        #expect(ObjectBatch.rounds(count: 9) { _ in quarter } == [0..<4, 4..<8, 8..<9])
        // A file larger than a round's bytes has a round of its own.
        #expect(ObjectBatch.rounds(count: 3) { $0 == 1 ? ObjectBatch.maximumBytes * 3 : 1 } == [0..<1, 1..<2, 2..<3])
    }

    @Test("an import removes the temp files of object writers that are no longer running, and only those")
    func abandonedTemporaryFiles() throws {
        let directory = TemporaryDirectory()
        directory.write("models/a.bin", pseudoRandomBytes(count: 100, seed: 1))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = store.layout.tmp + "/obj-\(finished.processIdentifier)-AbCdEf"
        let live = store.layout.tmp + "/obj-\(getppid())-AbCdEf"
        let other = store.layout.tmp + "/download-1234"
        for path in [dead, live, other] { _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2])) }
        _ = try store.importDirectory(directory.path + "/models")
        #expect(!FileSystem.exists(dead))
        #expect(FileSystem.exists(live) && FileSystem.exists(other))
    }
}

/// Collects the steps an ``ObjectBatch`` reports, from any thread.
private final class StepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var steps: [ObjectBatch.Step] = []

    var all: [ObjectBatch.Step] { lock.withLock { steps } }

    @Sendable func record(_ step: ObjectBatch.Step) { lock.withLock { steps.append(step) } }
}
