internal import CModelSyncSQLite

/// A SQLite [result code](https://sqlite.org/rescode.html), primary or extended, so that no code compares
/// against a bare number.
///
/// Extended codes carry their primary code in the low 8 bits: `SQLITE_CORRUPT_INDEX` (779) is a kind of
/// `SQLITE_CORRUPT` (11); compare `primaryResultCode` to match the family.
public struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The number SQLite returned.
    public let rawValue: Int32

    /// Wraps a code returned by a SQLite call.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary code of an extended one (`SQLITE_IOERR_FSYNC` → `SQLITE_IOERR`); itself for a primary code.
    public var primaryResultCode: ResultCode { ResultCode(rawValue: rawValue & 0xff) }

    /// The number, as SQLite documents it.
    public var description: String { String(rawValue) }

    /// Successful result.
    public static let SQLITE_OK = ResultCode(rawValue: CModelSyncSQLite.SQLITE_OK)
    /// Generic error, also what SQLite reports for a schema it cannot use ("no such table").
    public static let SQLITE_ERROR = ResultCode(rawValue: CModelSyncSQLite.SQLITE_ERROR)
    /// The database file is locked by another connection.
    public static let SQLITE_BUSY = ResultCode(rawValue: CModelSyncSQLite.SQLITE_BUSY)
    /// The database disk image is malformed.
    public static let SQLITE_CORRUPT = ResultCode(rawValue: CModelSyncSQLite.SQLITE_CORRUPT)
    /// The database or disk is full.
    public static let SQLITE_FULL = ResultCode(rawValue: CModelSyncSQLite.SQLITE_FULL)
    /// `SQLITE_IOERR`: the operating system reported an I/O error.
    public static let SQLITE_IOERR = ResultCode(rawValue: CModelSyncSQLite.SQLITE_IOERR)
    /// `SQLITE_CANTOPEN_SYMLINK` (1550): the path is a symbolic link and `SQLITE_OPEN_NOFOLLOW` was given.
    public static let SQLITE_CANTOPEN_SYMLINK = ResultCode(rawValue: CModelSyncSQLite.SQLITE_CANTOPEN | (6 << 8))
    /// The file opened is not a database file.
    public static let SQLITE_NOTADB = ResultCode(rawValue: CModelSyncSQLite.SQLITE_NOTADB)
    /// `sqlite3_step` has another row ready.
    public static let SQLITE_ROW = ResultCode(rawValue: CModelSyncSQLite.SQLITE_ROW)
    /// `sqlite3_step` has finished executing.
    public static let SQLITE_DONE = ResultCode(rawValue: CModelSyncSQLite.SQLITE_DONE)
}
