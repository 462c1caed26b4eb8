import Foundation
import Testing
@testable import ModelSyncKit

@Suite("status counts from the index")
struct StoreStatusTests {
    @Test("status reads the active set's file count and size, and the store's totals, from the index after a migration")
    func countsFromTheIndexAfterAMigration() throws {
        let directory = TemporaryDirectory()
        for index in 0..<25 { directory.write("models/d\(index % 3)/f\(index).bin", pseudoRandomBytes(count: 100 + index, seed: UInt64(index))) }
        let storePath = directory.path + "/store"
        let manifest: Digest
        do {
            let store = try Store.open(at: storePath, lockTimeout: 1)
            manifest = try store.importDirectory(directory.path + "/models").manifest
            _ = try Generations(store: store, modelsDir: directory.path + "/models").activate(manifest, options: ActivationOptions())
            // The index as the previous schema left it (before named values), to be migrated on the next open.
            try store.index.database.execute("""
                DROP TABLE named_values;
                CREATE TABLE daemon_state(role TEXT PRIMARY KEY, last_run INTEGER, last_success INTEGER,
                                          last_result TEXT, last_error TEXT) WITHOUT ROWID;
                PRAGMA user_version = 2;
                """)
            // Without its object, the manifest's counts can only come from the index.
            try store.objects.remove(manifest)
        }
        let store = try Store.open(at: storePath, lockTimeout: 1)
        #expect(try store.index.database.userVersion == Index.schemaVersion)
        let status = try store.status(modelsDir: directory.path + "/models")
        let expectedBytes = (0..<25).reduce(UInt64(0)) { $0 + UInt64(100 + $1) }
        #expect(status.active?.manifest == manifest)
        #expect(status.active?.files == 25)
        #expect(status.active?.bytes == expectedBytes)
        #expect(status.manifests == 1)
        // 25 distinct blobs and the manifest, as recorded in the index.
        #expect(status.objects == 26)
        let manifestSize = try #require(try store.index.objectSize(manifest))
        #expect(status.objectBytes == expectedBytes + manifestSize)
    }

    @Test("status reads no manifest and no object row into memory: its counts match a full count of the index")
    func countsMatchTheRows() throws {
        let directory = TemporaryDirectory()
        for index in 0..<10 { directory.write("models/f\(index).bin", pseudoRandomBytes(count: 10 + index, seed: UInt64(index))) }
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        _ = try store.importDirectory(directory.path + "/models")
        directory.write("models/f0.bin", [9, 9, 9])
        _ = try store.importDirectory(directory.path + "/models")
        let status = try store.status(modelsDir: directory.path + "/models")
        let objects = try store.index.allObjects()
        #expect(status.objects == objects.count)
        #expect(status.objectBytes == objects.values.reduce(0, +))
        #expect(status.manifests == (try store.index.allManifests().count))
        #expect(status.active == nil)
    }
}
