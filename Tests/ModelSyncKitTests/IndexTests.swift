import Foundation
import Testing
@testable import ModelSyncKit

@Suite("SQLite index")
struct IndexTests {
    @Test("no secret is written into the index: event reasons and named values are scrubbed as they go in")
    func secretsScrubbedOnTheWayIn() throws {
        SecretScrubber.register(["index-secret-value-7f3a"])
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        try store.record(StoreEvent(kind: .publish, reason: "commit abc to index-secret-value-7f3a/main"))
        try store.setValue(#"{"last_error":"failed with index-secret-value-7f3a"}"#, named: "daemon.test")
        let reasons = try store.events().compactMap(\.reason)
        #expect(reasons.contains("commit abc to [redacted]/main"))
        #expect(try store.value(named: "daemon.test") == #"{"last_error":"failed with [redacted]"}"#)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/store/index.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: directory.path + "/store/index.sqlite-wal"))) ?? Data())
        #expect(bytes.range(of: Data("index-secret-value-7f3a".utf8)) == nil)
    }

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

    @Test("an index from a newer model-sync is refused naming both versions, before anything is written")
    func newerSchema() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/index.sqlite"
        do {
            let database = try Database(path: path)
            try database.execute("CREATE TABLE future(x)")
            try database.execute("PRAGMA user_version = 99")
        }
        let before = directory.read("index.sqlite")
        for readOnly in [false, true] {
            #expect { try Index(path: path, readOnly: readOnly) } throws: { error in
                guard let error = error as? NewerIndexError else { return false }
                return error.message == "\(path) has schema version 99; this model-sync knows up to \(Index.schemaVersion)"
                    && error.category == .usage
            }
        }
        #expect(directory.read("index.sqlite") == before)
        let database = try Database(path: path, readOnly: true)
        #expect(try database.query("PRAGMA journal_mode") { $0.text(0) } == ["delete"])
    }

    @Test("migrating an index from schema version 2 carries each daemon role's state into a named value")
    func daemonStateMigration() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/index.sqlite"
        do {
            let database = try Database(path: path)
            for migration in Index.migrations.prefix(2) { try database.execute(migration) }
            try database.execute("PRAGMA user_version = 2")
            try database.execute("""
                INSERT INTO daemon_state(role, last_run, last_success, last_result, last_error)
                VALUES('client', 1700000000, 1690000000, 'failed', 'registry unreachable'),
                      ('publisher', 1700000100, NULL, NULL, NULL)
                """)
        }
        let index = try Index(path: path)
        #expect(try index.database.userVersion == Index.schemaVersion)
        let tables = try index.database.query("SELECT name FROM sqlite_master WHERE name = 'daemon_state'") { $0.text(0) }
        #expect(tables.isEmpty)
        let client = DaemonState(decoding: try #require(try index.value(named: "daemon.client")))
        #expect(client == DaemonState(lastRun: Date(timeIntervalSince1970: 1_700_000_000),
                                      lastSuccess: Date(timeIntervalSince1970: 1_690_000_000),
                                      lastResult: "failed", lastError: "registry unreachable"))
        let publisher = DaemonState(decoding: try #require(try index.value(named: "daemon.publisher")))
        #expect(publisher == DaemonState(lastRun: Date(timeIntervalSince1970: 1_700_000_100)))
    }

    @Test("the daemon's state round-trips through the store's named values, per role, in whole seconds")
    func daemonStateThroughStore() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        #expect(try store.daemonState(role: "client") == DaemonState())
        let state = DaemonState(lastRun: Date(timeIntervalSince1970: 1_700_000_000.75), lastResult: "activated")
        try store.saveDaemonState(state, role: "client")
        #expect(try store.daemonState(role: "client") == DaemonState(lastRun: Date(timeIntervalSince1970: 1_700_000_000),
                                                                      lastResult: "activated"))
        #expect(try store.daemonState(role: "publisher") == DaemonState())
        #expect(try store.value(named: "daemon.client")?.contains("\"last_run\":1700000000") == true)
        try store.setValue(nil, named: "daemon.client")
        #expect(try store.daemonState(role: "client") == DaemonState())
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
