#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSQLite
import Foundation

/// A SQLite connection ([sqlite3_open_v2](https://sqlite.org/c3ref/open.html)), closed in `deinit`.
///
/// Confined: one task uses a connection at a time (the store holds one per command).
final class Database {
    let path: String
    private let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` with foreign keys on. A writer then calls
    /// `useWriteAheadLog()`, once it knows it may change the file.
    ///
    /// The path is never followed through a symbolic link (`SQLITE_OPEN_NOFOLLOW`): a link planted at the
    /// index must not make a writer change another file. A read-only open of a database in WAL mode needs to
    /// create its `-shm` file; where the reader may not write the directory, the file is opened immutable
    /// instead (see ``openReadOnly(_:)``).
    init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        self.path = path
        if readOnly {
            handle = try Self.openReadOnly(path)
        } else {
            try Self.refuseLinks(besides: path)
            handle = try Self.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
                                       | SQLITE_OPEN_NOFOLLOW)
        }
        try configure()
    }

    private func configure() throws(SQLiteError) {
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, 10_000)
        try execute("PRAGMA foreign_keys = ON")
    }

    /// One `sqlite3_open_v2`; the connection is closed again when it fails.
    private static func open(_ path: String, flags: Int32, uri: String? = nil) throws(SQLiteError) -> OpaquePointer {
        var raw: OpaquePointer?
        let code = sqlite3_open_v2(uri ?? path, &raw, flags, nil)
        guard let raw else {
            throw SQLiteError(resultCode: ResultCode(rawValue: code), sqliteMessage: "cannot allocate a connection", context: "opening", path: path)
        }
        guard code == SQLITE_OK else {
            // The open's own return code is the primary one; the extended code says "symbolic link".
            let extended = sqlite3_extended_errcode(raw)
            let message = String(cString: sqlite3_errmsg(raw))
            sqlite3_close_v2(raw)
            throw SQLiteError(resultCode: ResultCode(rawValue: extended), sqliteMessage: message, context: "opening", path: path)
        }
        return raw
    }

    /// Refuses a symbolic link at the database or at one of the files SQLite keeps beside it (`-wal`, `-shm`,
    /// `-journal`): `SQLITE_OPEN_NOFOLLOW` covers the database alone, and a writer must not write through any.
    private static func refuseLinks(besides path: String) throws(SQLiteError) {
        for link in [path, path + "-wal", path + "-shm", path + "-journal"] {
            var info = stat()
            guard lstat(link, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { continue }
            throw SQLiteError(resultCode: .SQLITE_CANTOPEN_SYMLINK, sqliteMessage: "\(link) is a symbolic link",
                              context: "opening", path: link)
        }
    }

    /// Opens for reading only. A reader of a WAL database must be able to create the `-shm` file beside it;
    /// a user who may only read the store cannot, and SQLite then answers "readonly database" or "unable to
    /// open" at the first read. Only then, and only when the directory is not writable for this user, the file
    /// is opened immutable (`?immutable=1`: no lock, no shared memory). A writer's last connection checkpoints
    /// and removes the `-wal`, so the file alone is the whole index; while a writer is running, the reader sees
    /// the state of its last checkpoint, which is a consistent (if slightly older) state.
    private static func openReadOnly(_ path: String) throws(SQLiteError) -> OpaquePointer {
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW
        let handle = try open(path, flags: flags)
        // The header and the WAL index are read lazily: make them read now, so a failure shows here.
        let code = sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
        guard code != SQLITE_OK else { return handle }
        let primary = code & 0xFF
        let directory = (path as NSString).deletingLastPathComponent
        guard primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN,
              access(directory.isEmpty ? "." : directory, W_OK) != 0 else {
            let message = String(cString: sqlite3_errmsg(handle))
            sqlite3_close_v2(handle)
            throw SQLiteError(resultCode: ResultCode(rawValue: code), sqliteMessage: message, context: "opening", path: path)
        }
        sqlite3_close_v2(handle)
        return try open(path, flags: flags | SQLITE_OPEN_URI, uri: immutableURI(path))
    }

    /// `file:<path>?immutable=1`, with the characters a URI path gives a meaning to escaped.
    static func immutableURI(_ path: String) -> String {
        var escaped = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"), 0..<0x20, 0x7F...:
                escaped += String(format: "%%%02X", byte)
            default:
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return "file:" + escaped + "?immutable=1"
    }

    /// Switches to WAL mode with full fsync on commit. Separate from `init` because changing the journal
    /// mode rewrites the file header: a caller first checks that the file is one it may change.
    func useWriteAheadLog() throws(SQLiteError) {
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw SQLiteError(resultCode: ResultCode(rawValue: code), sqliteMessage: message, context: "executing \(sql.prefix(120))",
                              path: path, systemErrno: sqlite3_system_errno(handle))
        }
    }

    /// A prepared statement for `sql`, cached per connection and reset before reuse.
    func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statementCache[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &raw, nil)
        guard code == SQLITE_OK, let raw else {
            throw failure(code, "preparing \(sql.prefix(120))")
        }
        let statement = Statement(handle: raw, database: self, sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs `sql` with `arguments` and returns no rows.
    func run(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// Runs `sql` with `arguments` and maps every row.
    func query<T>(_ sql: String, _ arguments: [SQLValue] = [], _ map: (Statement) throws(SQLiteError) -> T) throws(SQLiteError) -> [T] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var rows: [T] = []
        while try statement.step() {
            rows.append(try map(statement))
        }
        return rows
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The rowid of the last insert on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// `PRAGMA user_version`.
    var userVersion: Int {
        get throws(SQLiteError) {
            try query("PRAGMA user_version") { statement in statement.int(0) }.first ?? 0
        }
    }

    func failure(_ code: Int32, _ context: String) -> SQLiteError {
        SQLiteError(resultCode: ResultCode(rawValue: code), sqliteMessage: String(cString: sqlite3_errmsg(handle)), context: context,
                    path: path, systemErrno: sqlite3_system_errno(handle))
    }
}

@available(*, unavailable)
extension Database: Sendable {}

/// A value bound to a statement parameter.
enum SQLValue {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null

    static func int(_ value: Int) -> SQLValue { .int(Int64(value)) }
    static func optionalText(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func optionalInt(_ value: Int?) -> SQLValue { value.map { .int(Int64($0)) } ?? .null }
}

/// A prepared statement ([sqlite3_stmt](https://sqlite.org/c3ref/stmt.html)), finalized in `deinit`.
final class Statement {
    private let handle: OpaquePointer
    private unowned let database: Database
    let sql: String

    init(handle: OpaquePointer, database: Database, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ values: [SQLValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .int(let number): code = sqlite3_bind_int64(handle, index, number)
            case .text(let text): code = sqlite3_bind_text(handle, index, text, -1, CModelSyncSQLite_SQLITE_TRANSIENT())
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), CModelSyncSQLite_SQLITE_TRANSIENT())
                }
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw database.failure(code, "binding \(sql.prefix(120))") }
        }
    }

    /// Advances; true when a row is available.
    func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.failure(code, "running \(sql.prefix(120))")
            sqlite3_reset(handle)
            throw error
        }
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
    func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
