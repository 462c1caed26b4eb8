/// Not enough free space for what a command is about to write, found before writing it (a download or an
/// archive whose size is announced): exit 9, like a write that fails with ENOSPC.
public struct OutOfSpaceError: ModelSyncError {
    /// The folder (or file) that lacks the space.
    public let path: String
    /// Bytes needed.
    public let needed: UInt64
    /// Bytes free there.
    public let available: UInt64
    /// What needs the space ("the archive", "its entries").
    public let what: String

    public var category: ErrorCategory { .outOfSpace }

    public var message: String {
        "no space left on \(path): \(what) needs \(needed) bytes, only \(available) are free"
    }

    public var hint: String? {
        "free some space on the filesystem holding \(path) (`model-sync gc` removes unreferenced objects), "
            + "then run the command again; the previous set is still active"
    }

    public init(path: String, needed: UInt64, available: UInt64, what: String) {
        self.path = path
        self.needed = needed
        self.available = available
        self.what = what
    }
}
