#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

/// `<store>/incoming/`: what pulls stage before the store lock is removed by `gc`, `fsck --repair` and the next
/// pull once its pull no longer runs, and never while it does.
@Suite("incoming folders: leftovers of pulls cleaned, folders in use left alone")
struct IncomingFoldersTests {
    /// An instant long after every import, as gc sees it.
    private let later = Date().addingTimeInterval(7 * 86_400)

    /// A folder of staged blobs as a pull leaves it, named for `pid`, holding `bytes` bytes in all.
    @discardableResult
    static func stagedFolder(_ fixture: StoreFixture, pid: Int32, suffix: String = "0a1b2c3d", bytes: Int = 5_000) -> String {
        let folder = fixture.store.layout.root + "/incoming/\(pid)-\(suffix)"
        fixture.directory.write("store/incoming/\(pid)-\(suffix)/objects/sha256/ab/abcdef", pseudoRandomBytes(count: bytes - 100, seed: 5))
        fixture.directory.write("store/incoming/\(pid)-\(suffix)/tmp/part", pseudoRandomBytes(count: 100, seed: 6))
        return folder
    }

    @Test("gc removes the staged downloads of pulls that no longer run and counts their bytes; a dry run only lists them")
    func gcRemovesLeftovers() throws {
        let fixture = try StoreFixture()
        let folder = Self.stagedFolder(fixture, pid: try FolderLockHolder.exitedProcessID())
        let temporary = fixture.directory.write("store/tmp/object-1.partial", [1, 2, 3])

        let dry = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: true, now: later)
        #expect(dry.stagedRemoved == [folder])
        #expect(dry.tempFilesRemoved == [temporary])
        #expect(dry.leftoverBytesFreed == 5_003)
        #expect(FileManager.default.fileExists(atPath: folder))

        let real = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(real.stagedRemoved == [folder])
        #expect(real.leftoverBytesFreed == 5_003)
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(!FileManager.default.fileExists(atPath: temporary))
        // The objects' figure is the objects' alone.
        #expect(real.bytesFreed == dry.bytesFreed)
    }

    @Test("fsck reports a pull's leftover staged download as it reports temp files; --repair removes it")
    func fsckReportsLeftovers() throws {
        let fixture = try StoreFixture()
        let folder = Self.stagedFolder(fixture, pid: try FolderLockHolder.exitedProcessID())
        let found = try Fsck(store: fixture.store, repair: false, modelsDir: fixture.modelsDir, progress: nil).run()
        #expect(found.remainingProblems == ["leftover staged download \(folder) (5000 bytes) of a pull that no longer runs"])
        #expect(FileManager.default.fileExists(atPath: folder))

        let repaired = try Fsck(store: fixture.store, repair: true, modelsDir: fixture.modelsDir, progress: nil).run()
        #expect(repaired.ok)
        #expect(repaired.repaired == [FsckReport.Repair(digest: nil, path: folder, action: "removed")])
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test("a folder a pull holds is not disturbed by gc, fsck --repair or the next pull, whatever pid its name carries")
    func foldersInUseStay() throws {
        let fixture = try StoreFixture()
        // This process's own, as a pull makes it.
        let own = try IncomingFolders(storeRoot: fixture.store.layout.root).make()
        fixture.directory.write(String(own.path.dropFirst(fixture.directory.path.count + 1)) + "/blob", [1, 2, 3])
        // Another process's, named for a pid this process cannot see running (another pid namespace sharing the
        // store): its lock alone says it is in use.
        let foreign = Self.stagedFolder(fixture, pid: try FolderLockHolder.exitedProcessID(), suffix: "held0001")
        let holder = try FolderLockHolder(foreign)

        let collected = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(collected.stagedRemoved.isEmpty && collected.leftoverBytesFreed == 0)
        let checked = try Fsck(store: fixture.store, repair: true, modelsDir: fixture.modelsDir, progress: nil).run()
        #expect(checked.problems.isEmpty, "\(checked.problems)")
        let next = try IncomingFolders(storeRoot: fixture.store.layout.root).make()
        next.remove()
        #expect(FileManager.default.fileExists(atPath: own.path + "/blob"))
        #expect(FileManager.default.fileExists(atPath: foreign + "/tmp/part"))

        // Once its pull is gone, the folder is a leftover.
        holder.release()
        let after = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(after.stagedRemoved == [foreign])
        #expect(FileManager.default.fileExists(atPath: own.path + "/blob"))
        own.remove()
        #expect(!FileManager.default.fileExists(atPath: own.path))
    }

    @Test("a pull staging its Git LFS downloads keeps them through a gc and an fsck --repair run meanwhile, and activates")
    func pullStagingIsNotDisturbed() throws {
        let fixture = try LFSRegistryFixture()
        let large = pseudoRandomBytes(count: 2 << 20, seed: 31)
        fixture.writeModel("large.bin", large)
        fixture.writeModel("small.bin", pseudoRandomBytes(count: 5_000, seed: 32))
        #expect(try Publisher(workspace: fixture.publisher).publish().result == .published)

        let storeRoot = FileSystem.absolute(fixture.client.storeDir)
        let incoming = storeRoot + "/incoming"
        let seen = Mutex<(staged: [String], removed: [String], problems: [String])?>(nil)
        let progress: ProgressHandler = { event in
            // Once, while the pull downloads into its folder (it holds no store lock yet): another command
            // collects and repairs the store.
            guard event.phase == "fetching", event.completed > 0, seen.withLock({ $0 == nil }) else { return }
            let staged = (try? FileManager.default.subpathsOfDirectory(atPath: incoming)) ?? []
            var removed = ["gc failed"], problems = ["fsck failed"]
            if let store = try? Store.open(at: storeRoot, lockTimeout: 5) {
                removed = (try? store.collectGarbage(graceSeconds: 0, dryRun: false)).map(\.stagedRemoved) ?? removed
            }
            problems = (try? Store.repair(at: storeRoot, lockTimeout: 5, modelsDir: nil))?.problems ?? problems
            seen.withLock { $0 = (staged, removed, problems) }
        }
        let pulled = try Puller(workspace: fixture.client).pull(progress: progress)
        let during = try #require(seen.withLock { $0 })
        #expect(!during.staged.isEmpty)
        #expect(during.removed.isEmpty)
        #expect(!during.problems.contains { $0.contains("staged download") }, "\(during.problems)")
        #expect(pulled.generation == 1)
        #expect(FileManager.default.contents(atPath: fixture.client.modelsDir + "/large.bin").map(Array.init) == large)
        #expect(((try? FileSystem.list(incoming)) ?? []).isEmpty)
    }
}
