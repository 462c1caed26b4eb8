import Foundation
import Testing
@testable import ModelSyncKit

@Suite("gc: what it keeps and what it removes")
struct GarbageCollectorTests {
    /// An instant long after every import, so that only generations and pins keep anything.
    private let later = Date().addingTimeInterval(7 * 86_400)

    /// The objects only `v2` references (not shared with `v1`), and `v2` itself.
    private func onlyInV2(_ fixture: StoreFixture) throws -> Set<Digest> {
        let v1 = Set(try fixture.store.manifest(fixture.v1).files.map(\.digest))
        let v2 = Set(try fixture.store.manifest(fixture.v2).files.map(\.digest))
        return v2.subtracting(v1).union([fixture.v2])
    }

    @Test("objects that no kept generation, pinned or recent manifest references are removed, with their manifests")
    func removesUnreferenced() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let expected = try onlyInV2(fixture)
        let sizes = try expected.map { try #require(try fixture.store.index.objectSize($0)) }

        let report = try fixture.store.collectGarbage(graceSeconds: 86_400, dryRun: false, now: later)
        #expect(Set(report.removed) == expected)
        #expect(report.objectsRemoved == 3)
        #expect(report.bytesFreed == sizes.reduce(0, +))
        #expect(report.objectsKept == 3)
        #expect(report.manifestsRemoved == [fixture.v2])
        for digest in expected {
            #expect(!fixture.store.objects.contains(digest))
            #expect(try fixture.store.index.objectSize(digest) == nil)
        }
        #expect(try !fixture.store.index.hasManifest(fixture.v2))
        #expect(fixture.activeFiles == fixture.importedFiles("v1"))
        let event = try #require(try fixture.store.events().last)
        #expect(event.kind == .gc)
        #expect(event.reason == "removed 3 objects, \(report.bytesFreed) bytes")
        #expect(try Fsck(store: fixture.store, repair: false, modelsDir: fixture.modelsDir, progress: nil).run().ok)
    }

    @Test("objects of every retained generation stay, not only the active one's")
    func keepsRetained() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2)
        let report = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(report.objectsRemoved == 0)
        #expect(report.objectsKept == 6)
        #expect(try fixture.generations.rollback().generation == 1)
        #expect(fixture.activeFiles == fixture.importedFiles("v1"))
    }

    @Test("a generation the index lost its rows for still keeps its manifest and objects (the index is a cache)")
    func keepsGenerationsTheIndexForgot() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2)
        // Rows lost behind the store's back, after it was opened and reconciled.
        try fixture.store.index.database.run("DELETE FROM generations")
        try fixture.store.index.database.run("DELETE FROM manifests")
        let report = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(report.objectsRemoved == 0)
        #expect(report.objectsKept == 6)
    }

    @Test("a failed generation keeps nothing: its manifest and objects go after the grace period, with its record")
    func failedGenerationKeepsNothing() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 1"))
        #expect(try fixture.record(2)?.state == .failed)
        let expected = try onlyInV2(fixture)
        let report = try fixture.store.collectGarbage(graceSeconds: 60, dryRun: false, now: later)
        #expect(Set(report.removed) == expected)
        #expect(report.manifestsRemoved == [fixture.v2])
        #expect(try fixture.record(2) == nil)
        #expect(try fixture.store.ledger.badReason(fixture.v2) != nil)
    }

    @Test("the grace period keeps a recently imported manifest and its objects; after it they go")
    func gracePeriod() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let imported = Date()
        let expected = try onlyInV2(fixture)
        let within = try fixture.store.collectGarbage(graceSeconds: 3_600, dryRun: false, now: imported.addingTimeInterval(3_000))
        #expect(within.objectsRemoved == 0)
        #expect(within.manifestsRemoved.isEmpty)
        let after = try fixture.store.collectGarbage(graceSeconds: 3_600, dryRun: false, now: imported.addingTimeInterval(3_700))
        #expect(Set(after.removed) == expected)
    }

    @Test("a pinned manifest keeps its objects whatever its age; unpinned, they go")
    func pinned() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.store.pin(fixture.v2)
        #expect(try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later).objectsRemoved == 0)
        try fixture.store.pin(fixture.v2, false)
        #expect(try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later).objectsRemoved == 3)
        #expect { try fixture.store.pin(fixture.v2) } throws: { error in
            (error as? UsageError)?.message == "no manifest \(fixture.v2) in \(fixture.store.layout.root)"
        }
    }

    @Test("gc drops the stat-cache rows of files that are gone from folders no import walks again, and no other")
    func dropsStatCacheRowsOfGoneFiles() throws {
        let directory = TemporaryDirectory()
        directory.write("kept/a.bin", pseudoRandomBytes(count: 3_000, seed: 1))
        directory.write("one-off/b.bin", pseudoRandomBytes(count: 3_000, seed: 2))
        directory.write("one-off/sub/c.bin", pseudoRandomBytes(count: 3_000, seed: 3))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        // Hashed "a minute later" than the files were written, so they are cached.
        for folder in ["kept", "one-off"] {
            _ = try store.importDirectory(directory.path + "/" + folder, now: Date().addingTimeInterval(60))
        }
        #expect(try store.index.cachedPaths().count == 3)
        try FileManager.default.removeItem(atPath: directory.path + "/one-off")

        let dry = try store.collectGarbage(graceSeconds: 86_400, dryRun: true)
        #expect(dry.cacheRowsRemoved == 2)
        #expect(try store.index.cachedPaths().count == 3)
        let real = try store.collectGarbage(graceSeconds: 86_400, dryRun: false)
        #expect(real.cacheRowsRemoved == 2)
        #expect(try store.index.cachedPaths() == [directory.path + "/kept/a.bin"])
        // The folder still there is re-imported without reading its file.
        #expect(try store.importDirectory(directory.path + "/kept", now: Date().addingTimeInterval(60)).cachedFiles == 1)
    }

    @Test("a dry run counts what gc would remove and removes nothing, temp files included")
    func dryRun() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let temporary = fixture.directory.write("store/tmp/object-1.partial", [1])
        let eventsBefore = try fixture.store.events().count

        let dry = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: true, now: later)
        #expect(dry.dryRun)
        #expect(dry.objectsRemoved == 3)
        #expect(dry.tempFilesRemoved == [temporary])
        for digest in dry.removed { #expect(fixture.store.objects.contains(digest)) }
        #expect(try fixture.store.index.hasManifest(fixture.v2))
        #expect(FileManager.default.fileExists(atPath: temporary))
        #expect(try fixture.store.events().count == eventsBefore)

        let real = try fixture.store.collectGarbage(graceSeconds: 0, dryRun: false, now: later)
        #expect(real.removed == dry.removed)
        #expect(real.bytesFreed == dry.bytesFreed)
        #expect(real.objectsKept == dry.objectsKept)
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }
}
