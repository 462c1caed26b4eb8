/// A failed SQLite call: the result code, SQLite's own message captured at once, and the SQL involved.
public struct SQLiteError: ModelSyncError {
    /// The SQLite result code (`SQLITE_BUSY`, `SQLITE_CORRUPT`...), extended when SQLite gave one.
    public let resultCode: ResultCode
    /// `sqlite3_errmsg` at the time of the failure.
    public let sqliteMessage: String
    /// The statement or operation that failed.
    public let context: String
    /// The database file.
    public let path: String
    /// `sqlite3_system_errno` at the time of the failure (0 when unknown): an I/O error's cause.
    public let systemErrno: Int32

    /// Records a failure; `resultCode` is the code the failing call returned.
    public init(resultCode: ResultCode, sqliteMessage: String, context: String, path: String, systemErrno: Int32 = 0) {
        self.resultCode = resultCode
        self.sqliteMessage = sqliteMessage
        self.context = context
        self.path = path
        self.systemErrno = systemErrno
    }

    public var category: ErrorCategory {
        isCorruption ? .integrity : isOutOfSpace ? .outOfSpace
            : resultCode == .SQLITE_CANTOPEN_SYMLINK ? .usage : .unexpected
    }

    public var message: String {
        if isOutOfSpace { return "no space left on \(path): \(sqliteMessage) while \(context)" }
        return "index \(path): \(sqliteMessage) (code \(resultCode)) while \(context)"
    }

    public var hint: String? {
        if isOutOfSpace {
            return "free some space on the filesystem holding \(path) (`model-sync gc` removes unreferenced objects), "
                + "then run the command again; the previous set is still active"
        }
        if resultCode == .SQLITE_CANTOPEN_SYMLINK {
            return "the index is a symbolic link, which model-sync does not open: remove \(path), then run "
                + "`model-sync fsck --repair` to rebuild it from the objects"
        }
        return isCorruption ? "the index can be rebuilt from the objects: run `model-sync fsck --repair`" : nil
    }

    /// True for `SQLITE_FULL` (SQLite's word for a write that failed with ENOSPC or EDQUOT), and for an
    /// I/O error whose system errno is one of those (growing the WAL index, an fsync).
    public var isOutOfSpace: Bool {
        resultCode.primaryResultCode == .SQLITE_FULL
            || (resultCode.primaryResultCode == .SQLITE_IOERR && ErrorCategory.isOutOfSpace(errno: systemErrno))
    }

    /// True for `SQLITE_CORRUPT` and `SQLITE_NOTADB`, and their extended codes.
    public var isCorruption: Bool {
        let primary = resultCode.primaryResultCode
        return primary == .SQLITE_CORRUPT || primary == .SQLITE_NOTADB
    }
}
