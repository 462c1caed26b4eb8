/// A failed SQLite call: the result code, SQLite's own message captured at once, and the SQL involved.
public struct SQLiteError: ModelSyncError {
    /// The SQLite result code (`SQLITE_BUSY`, `SQLITE_CORRUPT`...).
    public let resultCode: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    public let sqliteMessage: String
    /// The statement or operation that failed.
    public let context: String
    /// The database file.
    public let path: String

    public var category: ErrorCategory {
        isCorruption ? .integrity : .unexpected
    }

    public var message: String {
        "index \(path): \(sqliteMessage) (code \(resultCode)) while \(context)"
    }

    public var hint: String? {
        isCorruption ? "the index can be rebuilt from the objects: run `model-sync fsck --repair`" : nil
    }

    /// True for SQLITE_CORRUPT (11) and SQLITE_NOTADB (26).
    public var isCorruption: Bool {
        let primary = resultCode & 0xff
        return primary == 11 || primary == 26
    }
}
