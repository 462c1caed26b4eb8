import Foundation

/// The SQLite index of a store: its schema and migrations, objects, manifests and their entries, events,
/// named values and the stat cache. Generation rows and bad manifests are written by `GenerationLedger`.
///
/// Everything in it can be rebuilt from `objects/` and `generations/` (`fsck --repair`), except the event
/// log and the named values. Confined: one task uses an index at a time.
final class Index {
    let database: Database

    /// The schema, as ordered migrations: migration *n* takes `user_version` from *n* to *n + 1*.
    /// Never edit a migration that has shipped; append a new one.
    static let migrations: [String] = [
        """
        CREATE TABLE objects(
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            added_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE manifests(
            digest TEXT PRIMARY KEY,
            files INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            imported_at INTEGER NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE manifest_entries(
            manifest TEXT NOT NULL REFERENCES manifests(digest) ON DELETE CASCADE,
            path TEXT NOT NULL,
            digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            mode TEXT NOT NULL,
            PRIMARY KEY(manifest, path)
        ) WITHOUT ROWID;
        CREATE INDEX manifest_entries_by_digest ON manifest_entries(digest);
        CREATE TABLE bad_manifests(
            digest TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            marked_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE generations(
            number INTEGER PRIMARY KEY,
            manifest TEXT NOT NULL REFERENCES manifests(digest),
            state TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            activated_at INTEGER
        );
        CREATE TABLE events(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            generation INTEGER,
            from_generation INTEGER,
            manifest TEXT,
            reason TEXT
        );
        CREATE TABLE stat_cache(
            path TEXT PRIMARY KEY,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            digest TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE daemon_state(
            role TEXT PRIMARY KEY,
            last_run INTEGER,
            last_success INTEGER,
            last_result TEXT,
            last_error TEXT
        ) WITHOUT ROWID;
        """,
        // Small values that layers above the store keep here, under names of their choosing. The daemon's
        // per-role table becomes values named `daemon.<role>` holding a JSON object of the same columns
        // (the encoding the daemon reads back), so the store no longer has a table per caller.
        """
        CREATE TABLE named_values(
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO named_values(name, value)
            SELECT 'daemon.' || role,
                   json_object('last_run', last_run, 'last_success', last_success,
                               'last_result', last_result, 'last_error', last_error)
            FROM daemon_state;
        DROP TABLE daemon_state;
        """,
    ]

    /// The schema version this model-sync writes: the number of migrations.
    static var schemaVersion: Int { migrations.count }

    /// Opens the index at `path`, applying pending migrations. A read-only open applies none.
    ///
    /// Throws `NewerIndexError` before changing anything when a newer model-sync wrote the file, and
    /// `SQLiteError` (corruption) when the file is not a readable database.
    init(path: String, readOnly: Bool = false) throws {
        database = try Database(path: path, readOnly: readOnly)
        // Reading the version makes SQLite read the header now, so a corrupt file fails here with SQLITE_NOTADB.
        let version = try database.userVersion
        guard version <= Index.schemaVersion else {
            throw NewerIndexError(path: path, version: version, supportedVersion: Index.schemaVersion)
        }
        guard !readOnly else { return }
        try database.useWriteAheadLog()
        for number in version..<Index.schemaVersion {
            try database.transaction {
                try database.execute(Index.migrations[number])
                try database.execute("PRAGMA user_version = \(number + 1)")
            }
        }
    }

    /// Runs `body` in one transaction.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    // MARK: objects

    func recordObject(_ digest: Digest, size: UInt64, at time: Date = Date()) throws(SQLiteError) {
        try database.run("INSERT OR IGNORE INTO objects(digest, size, added_at) VALUES(?, ?, ?)",
                         [.text(digest.description), .int(Int64(size)), .int(Int64(time.timeIntervalSince1970))])
    }

    func objectSize(_ digest: Digest) throws(SQLiteError) -> UInt64? {
        try database.query("SELECT size FROM objects WHERE digest = ?", [.text(digest.description)]) { UInt64($0.int64(0)) }.first
    }

    func removeObject(_ digest: Digest) throws(SQLiteError) {
        try database.run("DELETE FROM objects WHERE digest = ?", [.text(digest.description)])
    }

    /// Every indexed object with its size.
    func allObjects() throws(SQLiteError) -> [Digest: UInt64] {
        var result: [Digest: UInt64] = [:]
        let rows = try database.query("SELECT digest, size FROM objects") { ($0.text(0), UInt64($0.int64(1))) }
        for (text, size) in rows {
            if let digest = try? Digest(parsing: text) { result[digest] = size }
        }
        return result
    }

    /// The number of indexed objects and their total size, counted by SQLite (status reads no row into memory).
    func objectTotals() throws(SQLiteError) -> (count: Int, bytes: UInt64) {
        try database.query("SELECT count(*), coalesce(sum(size), 0) FROM objects") {
            ($0.int(0), UInt64(max(0, $0.int64(1))))
        }.first ?? (0, 0)
    }

    // MARK: manifests

    /// The file count and total size recorded for `digest` when it was recorded, or nil for an unknown manifest:
    /// `status` reads them here rather than decoding a manifest of every file.
    func manifestCounts(_ digest: Digest) throws(SQLiteError) -> (files: Int, bytes: UInt64)? {
        try database.query("SELECT files, bytes FROM manifests WHERE digest = ?", [.text(digest.description)]) {
            ($0.int(0), UInt64(max(0, $0.int64(1))))
        }.first
    }

    /// The number of recorded manifests.
    func manifestCount() throws(SQLiteError) -> Int {
        try database.query("SELECT count(*) FROM manifests") { $0.int(0) }.first ?? 0
    }

    func recordManifest(_ manifest: Manifest, at time: Date = Date()) throws(SQLiteError) {
        let digest = manifest.digest.description
        let existing = try database.query("SELECT 1 FROM manifests WHERE digest = ?", [.text(digest)]) { $0.int(0) }
        if !existing.isEmpty {
            // Re-importing the same set refreshes its grace period for gc.
            try database.run("UPDATE manifests SET imported_at = ? WHERE digest = ?",
                             [.int(Int64(time.timeIntervalSince1970)), .text(digest)])
            return
        }
        try database.run("INSERT INTO manifests(digest, files, bytes, imported_at) VALUES(?, ?, ?, ?)",
                         [.text(digest), .int(manifest.files.count), .int(Int64(manifest.totalBytes)),
                          .int(Int64(time.timeIntervalSince1970))])
        for entry in manifest.files {
            try database.run("INSERT INTO manifest_entries(manifest, path, digest, size, mode) VALUES(?, ?, ?, ?, ?)",
                             [.text(digest), .text(entry.path), .text(entry.digest.description),
                              .int(Int64(entry.size)), .text(entry.mode.rawValue)])
        }
    }

    func hasManifest(_ digest: Digest) throws(SQLiteError) -> Bool {
        !(try database.query("SELECT 1 FROM manifests WHERE digest = ?", [.text(digest.description)]) { $0.int(0) }).isEmpty
    }

    /// Manifests with their import time.
    func allManifests() throws(SQLiteError) -> [(digest: Digest, importedAt: Date, pinned: Bool)] {
        let rows = try database.query("SELECT digest, imported_at, pinned FROM manifests") {
            ($0.text(0), $0.int64(1), $0.int(2) != 0)
        }
        return rows.compactMap { row in
            guard let digest = try? Digest(parsing: row.0) else { return nil }
            return (digest, Date(timeIntervalSince1970: TimeInterval(row.1)), row.2)
        }
    }

    /// The digests of the blobs `manifest` references, from the index.
    func referencedObjects(of manifest: Digest) throws(SQLiteError) -> [Digest] {
        try database.query("SELECT DISTINCT digest FROM manifest_entries WHERE manifest = ?", [.text(manifest.description)]) {
            $0.text(0)
        }.compactMap { try? Digest(parsing: $0) }
    }

    /// Pins or unpins a manifest: gc keeps a pinned manifest's objects whatever its age.
    func setPinned(_ digest: Digest, _ pinned: Bool) throws(SQLiteError) {
        try database.run("UPDATE manifests SET pinned = ? WHERE digest = ?", [.int(pinned ? 1 : 0), .text(digest.description)])
    }

    func removeManifest(_ digest: Digest) throws(SQLiteError) {
        try database.run("DELETE FROM manifests WHERE digest = ?", [.text(digest.description)])
    }

    // MARK: events

    func recordEvent(_ event: StoreEvent) throws(SQLiteError) {
        // `log` shows the index without the configuration: no secret is written into it.
        let reason = event.reason.map { SecretScrubber.shared.scrub($0) }
        try database.run("""
            INSERT INTO events(time, kind, generation, from_generation, manifest, reason) VALUES(?, ?, ?, ?, ?, ?)
            """, [.int(Int64(event.time.timeIntervalSince1970)), .text(event.kind.rawValue), .optionalInt(event.generation),
                  .optionalInt(event.fromGeneration), .optionalText(event.manifest?.description), .optionalText(reason)])
    }

    /// Events, oldest first (at most `limit`, the most recent ones).
    func events(limit: Int = 1000) throws(SQLiteError) -> [StoreEvent] {
        let rows = try database.query("""
            SELECT time, kind, generation, from_generation, manifest, reason FROM
              (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id ASC
            """, [.int(limit)]) { row in
            StoreEvent(time: Date(timeIntervalSince1970: TimeInterval(row.int64(0))),
                       kind: StoreEvent.Kind(rawValue: row.text(1)),
                       generation: row.optionalInt(2), fromGeneration: row.optionalInt(3),
                       manifest: row.optionalText(4).flatMap { try? Digest(parsing: $0) },
                       reason: row.optionalText(5))
        }
        return rows
    }

    // MARK: named values

    /// The value saved under `name`, or nil.
    func value(named name: String) throws(SQLiteError) -> String? {
        try database.query("SELECT value FROM named_values WHERE name = ?", [.text(name)]) { $0.text(0) }.first
    }

    /// Saves `value` under `name`, replacing what was there; nil removes it.
    func setValue(_ value: String?, named name: String) throws(SQLiteError) {
        guard let value else {
            try database.run("DELETE FROM named_values WHERE name = ?", [.text(name)])
            return
        }
        try database.run("INSERT OR REPLACE INTO named_values(name, value) VALUES(?, ?)",
                         [.text(name), .text(SecretScrubber.shared.scrub(value))])
    }

    // MARK: stat cache

    func cachedDigest(for key: StatKey) throws(SQLiteError) -> Digest? {
        let rows = try database.query(
            "SELECT device, inode, size, mtime_ns, ctime_ns, digest FROM stat_cache WHERE path = ?", [.text(key.path)]) { row in
            (StatKey(path: key.path, device: UInt64(bitPattern: row.int64(0)), inode: UInt64(bitPattern: row.int64(1)),
                     size: UInt64(row.int64(2)), mtimeNanoseconds: row.int64(3), ctimeNanoseconds: row.int64(4)),
             row.text(5))
        }
        guard let (cached, text) = rows.first, cached == key else { return nil }
        return try? Digest(parsing: text)
    }

    /// Calls `body` with every stat-cache entry of a file under the folder `root` (paths `root/…`), in path
    /// order (bytewise): `/` is followed by `0` in every encoding SQLite compares, so the range is exact.
    func cachedEntries(under root: String, _ body: (_ key: StatKey, _ digest: String) -> Void) throws(SQLiteError) {
        let statement = try database.prepare("""
            SELECT path, device, inode, size, mtime_ns, ctime_ns, digest FROM stat_cache
            WHERE path > ? AND path < ? ORDER BY path
            """)
        try statement.bind([.text(root + "/"), .text(root + "0")])
        while try statement.step() {
            body(StatKey(path: statement.text(0), device: UInt64(bitPattern: statement.int64(1)),
                         inode: UInt64(bitPattern: statement.int64(2)), size: UInt64(statement.int64(3)),
                         mtimeNanoseconds: statement.int64(4), ctimeNanoseconds: statement.int64(5)),
                 statement.text(6))
        }
    }

    /// Every path the stat cache holds a row for.
    func cachedPaths() throws(SQLiteError) -> [String] {
        try database.query("SELECT path FROM stat_cache") { $0.text(0) }
    }

    /// Drops the stat-cache rows of `paths` (files that are gone); one statement, prepared once, in the
    /// caller's transaction.
    func forgetCachedPaths(_ paths: [String]) throws(SQLiteError) {
        for path in paths {
            try database.run("DELETE FROM stat_cache WHERE path = ?", [.text(path)])
        }
    }

    func cacheDigest(_ digest: Digest, for key: StatKey) throws(SQLiteError) {
        try database.run("""
            INSERT OR REPLACE INTO stat_cache(path, device, inode, size, mtime_ns, ctime_ns, digest) VALUES(?, ?, ?, ?, ?, ?, ?)
            """, [.text(key.path), .int(Int64(bitPattern: key.device)), .int(Int64(bitPattern: key.inode)),
                  .int(Int64(key.size)), .int(key.mtimeNanoseconds), .int(key.ctimeNanoseconds), .text(digest.description)])
    }

    func forgetCachedDigests(_ digest: Digest) throws(SQLiteError) {
        try database.run("DELETE FROM stat_cache WHERE digest = ?", [.text(digest.description)])
    }
}

@available(*, unavailable)
extension Index: Sendable {}
