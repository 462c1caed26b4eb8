#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

@Suite("fsck: what it finds and what --repair does")
struct FsckTests {
    private func check(_ fixture: StoreFixture, repair: Bool = false) throws -> FsckReport {
        try Fsck(store: fixture.store, repair: repair, modelsDir: fixture.modelsDir, progress: nil).run()
    }

    /// The digest of the entry at `path` in `manifest`.
    private func digest(of path: String, in manifest: Digest, _ fixture: StoreFixture) throws -> Digest {
        try #require(try fixture.store.manifest(manifest).files.first { $0.path == path }).digest
    }

    @Test("a clean store with an active generation checks every object and finds nothing")
    func clean() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let report = try check(fixture)
        #expect(report.ok)
        #expect(report.problems.isEmpty)
        // a.bin twice (different content), b.bin once (shared), c.bin, and two manifests.
        #expect(report.objectsChecked == 6)
        #expect(report.bytesChecked > 12_000)
    }

    @Test("a corrupt object is reported; repair quarantines it and forgets its index row")
    func corruptObject() throws {
        let fixture = try StoreFixture()
        let object = try digest(of: "c.bin", in: fixture.v2, fixture)
        let path = fixture.store.layout.objectPath(object)
        chmod(path, 0o644)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[10] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o444)

        let found = try check(fixture)
        #expect(found.corrupt == [object])
        #expect(found.remainingProblems.count == 1)
        #expect(found.remainingProblems[0].hasPrefix("corrupt object \(object): content hashes to sha256:"))

        let repaired = try check(fixture, repair: true)
        #expect(repaired.ok)
        #expect(repaired.repaired == [FsckReport.Repair(digest: object, path: nil, action: "quarantined")])
        #expect(!fixture.store.objects.contains(object))
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: fixture.store.layout.quarantine)
        #expect(quarantined.count == 1 && quarantined[0].hasPrefix(object.hex))
        #expect(try fixture.store.index.objectSize(object) == nil)
        #expect(try check(fixture).ok)
    }

    @Test("an object a retained generation needs is reported missing, and stays a problem after repair")
    func missingObject() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v2)
        let object = try digest(of: "c.bin", in: fixture.v2, fixture)
        try fixture.store.objects.remove(object)

        let found = try check(fixture)
        #expect(found.missing == [object])
        #expect(found.problems.contains("object \(object) is in the index but not on disk"))
        #expect(found.problems.contains("generation 1 needs \(object) (c.bin), which the store lacks"))

        let repaired = try check(fixture, repair: true)
        #expect(!repaired.ok)
        #expect(repaired.missing == [object])
        #expect(repaired.repaired == [FsckReport.Repair(digest: object, path: nil, action: "index-row-removed")])
        #expect(repaired.remainingProblems == ["generation 1 needs \(object) (c.bin), which the store lacks"])
    }

    @Test("stray files in tmp/ and objects/ are reported; repair removes them")
    func strayFiles() throws {
        let fixture = try StoreFixture()
        let temporary = fixture.directory.write("store/tmp/object-123.partial", [1, 2])
        let stray = fixture.directory.write("store/objects/sha256/zz/not-an-object", [3])
        let found = try check(fixture)
        #expect(Set(found.remainingProblems) == ["leftover temporary file \(temporary)", "unexpected file in objects/: \(stray)"])

        let repaired = try check(fixture, repair: true)
        #expect(repaired.ok)
        #expect(Set(repaired.repaired.compactMap(\.path)) == [temporary, stray])
        #expect(repaired.repaired.allSatisfy { $0.action == "removed" })
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(!FileManager.default.fileExists(atPath: stray))
    }

    @Test("a half-built generation directory and a generation still recorded as building are cleared by repair")
    func halfBuiltGeneration() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let building = fixture.directory.write("store/generations/.building-5/a.bin", [1])
        let directory = (building as NSString).deletingLastPathComponent
        try fixture.store.ledger.beginBuilding(4, manifest: fixture.v2)

        let found = try check(fixture)
        #expect(Set(found.remainingProblems) == ["half-built generation directory \(directory)",
                                                 "generation 4 is recorded as building"])

        let repaired = try check(fixture, repair: true)
        #expect(repaired.ok)
        #expect(repaired.repaired.contains(FsckReport.Repair(digest: nil, path: directory, action: "removed")))
        #expect(repaired.repaired.contains(FsckReport.Repair(digest: fixture.v2, path: fixture.store.layout.generationPath(4),
                                                             action: "generation-forgotten")))
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(try fixture.record(4) == nil)
        #expect(try check(fixture).ok)
    }

    @Test("a replaced generation file and an extra one are reported; repair re-makes the first from its object and removes the second")
    func tamperedGeneration() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let generation = fixture.store.layout.generationPath(1)
        // A new inode with other bytes of the same size: the object itself stays intact.
        try FileManager.default.removeItem(atPath: generation + "/a.bin")
        fixture.directory.write("store/generations/1/a.bin", pseudoRandomBytes(count: 3_000, seed: 99), mode: 0o444)
        fixture.directory.write("store/generations/1/extra.txt", [1], mode: 0o444)

        let found = try check(fixture)
        #expect(found.corrupt.isEmpty)
        #expect(found.remainingProblems.count == 2)
        #expect(found.remainingProblems.contains { $0.hasPrefix("generation 1: a.bin was modified: content hashes to ") })
        #expect(found.remainingProblems.contains("generation 1: unexpected file extra.txt"))

        let repaired = try check(fixture, repair: true)
        #expect(repaired.ok)
        #expect(Set(repaired.repaired.map(\.action)) == ["rematerialized", "removed"])
        #expect(fixture.activeFiles == fixture.importedFiles("v1"))
        #expect(try check(fixture).ok)
    }

    @Test("a symbolic link or a name that is not UTF-8 inside a generation is unexpected, and repair removes it")
    func oddEntriesInGeneration() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let generation = fixture.store.layout.generationPath(1)
        chmod(generation, 0o755)
        #expect(symlink("/etc/hostname", generation + "/link") == 0)
        var raw = Array(generation.utf8) + Array("/bad-".utf8) + [0xff, 0]
        let descriptor = raw.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { open($0, O_CREAT | O_WRONLY, 0o444) }
        }
        #expect(descriptor >= 0)
        close(descriptor)

        let found = try check(fixture)
        #expect(found.remainingProblems.contains("generation 1: unexpected file link"))
        #expect(found.remainingProblems.contains("generation 1: unexpected file bad-\u{FFFD}"))

        let repaired = try check(fixture, repair: true)
        #expect(repaired.repaired.filter { $0.action == "removed" }.count == 2)
        let expected = try fixture.store.manifest(fixture.v1).files.count
        #expect(try FileSystem.listRawNames(generation).count == expected)
        #expect(try check(fixture).ok)
    }

    @Test("when the symlink names a generation the index does not record as active, repair records the activation")
    func activationRecordedAfterCrash() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2)
        // A crash between the swap and the index update: the link names 1, the index still says 2.
        try fixture.generations.swap(to: 1)

        let found = try check(fixture)
        #expect(found.remainingProblems == ["generation 1 is active but the index records it as retained"])

        let repaired = try check(fixture, repair: true)
        #expect(repaired.ok)
        #expect(repaired.repaired == [FsckReport.Repair(digest: fixture.v1, path: fixture.store.layout.generationPath(1),
                                                        action: "activation-recorded")])
        #expect(try fixture.record(1)?.state == .active)
        #expect(try fixture.record(2)?.state == .retained)
        let event = try #require(try fixture.store.events().last)
        #expect(event.kind == .activate && event.generation == 1 && event.fromGeneration == 2)
        #expect(event.reason == "recorded by fsck after an interrupted activation")
    }

    @Test("repair refuses an index with a newer schema, naming both versions, and neither moves nor rebuilds it")
    func newerIndexIsNotRebuilt() throws {
        let directory = TemporaryDirectory()
        directory.write("models/a.bin", [1, 2, 3])
        let root = directory.path + "/store"
        do {
            let store = try Store.open(at: root, lockTimeout: 1)
            _ = try store.importDirectory(directory.path + "/models")
            try store.index.database.execute("PRAGMA user_version = \(Index.schemaVersion + 1)")
        }
        let before = directory.read("store/index.sqlite")
        #expect { try Store.repair(at: root, lockTimeout: 1, modelsDir: nil) } throws: { error in
            guard let error = error as? NewerIndexError else { return false }
            return error.message == "\(root)/index.sqlite has schema version \(Index.schemaVersion + 1); "
                + "this model-sync knows up to \(Index.schemaVersion)"
                && error.category.exitCode == 2
        }
        #expect(directory.read("store/index.sqlite") == before)
        let entries = try FileManager.default.contentsOfDirectory(atPath: root)
        #expect(!entries.contains { $0.hasPrefix("index.sqlite.corrupt") })
        #expect(throws: NewerIndexError.self) { try Store.openForReading(at: root) }
        #expect(throws: NewerIndexError.self) { try Store.open(at: root, lockTimeout: 1) }
    }
}
