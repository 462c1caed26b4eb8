import Foundation
import Testing
@testable import ModelSyncKit

@Suite("SQLite index")
struct IndexTests {
    @Test("a new index is in WAL mode with foreign keys and the latest schema version")
    func schema() throws {
        let directory = TemporaryDirectory()
        let index = try Index(path: directory.path + "/index.sqlite")
        #expect(try index.database.userVersion == Index.migrations.count)
        let mode = try index.database.query("PRAGMA journal_mode") { $0.text(0) }
        #expect(mode == ["wal"])
        let keys = try index.database.query("PRAGMA foreign_keys") { $0.int(0) }
        #expect(keys == [1])
        // Reopening applies nothing twice.
        let again = try Index(path: directory.path + "/index.sqlite")
        #expect(try again.database.userVersion == Index.migrations.count)
    }

    @Test("an index from a newer model-sync is refused with a clear message")
    func newerSchema() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/index.sqlite"
        _ = try Index(path: path)
        let database = try Database(path: path)
        try database.execute("PRAGMA user_version = 99")
        #expect { try Index(path: path) } throws: { error in
            (error as? SQLiteError)?.message.contains("schema version 99 is newer") == true
        }
    }

    @Test("a file that is not a database is reported as corruption with a repair hint")
    func notADatabase() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("index.sqlite", Array(repeating: 0x41, count: 8192))
        #expect { try Index(path: path) } throws: { error in
            guard let error = error as? SQLiteError else { return false }
            return error.isCorruption && error.hint?.contains("fsck --repair") == true
        }
    }

    @Test("the stat cache answers only for an identical key")
    func statCache() throws {
        let directory = TemporaryDirectory()
        let index = try Index(path: directory.path + "/index.sqlite")
        let key = StatKey(path: "/m/a", device: 1, inode: 2, size: 3, mtimeNanoseconds: 4, ctimeNanoseconds: 5)
        try index.cacheDigest(Digest.empty, for: key)
        #expect(try index.cachedDigest(for: key) == Digest.empty)
        var changed = key
        changed.ctimeNanoseconds = 6
        #expect(try index.cachedDigest(for: changed) == nil)
        changed = key
        changed.inode = 9
        #expect(try index.cachedDigest(for: changed) == nil)
    }
}
