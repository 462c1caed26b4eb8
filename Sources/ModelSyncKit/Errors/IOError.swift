#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// A failed system call on a path: the `errno` is captured at once, with the path and the operation.
public struct IOError: ModelSyncError {
    /// The `errno` value of the failed call.
    public let errno: Int32
    /// What was being done (`"open"`, `"rename"`, `"fsync"`...).
    public let operation: String
    /// The path involved.
    public let path: String

    /// Exit 9 for a full disk or quota; exit 2 for what the user's setup must fix (permissions, a read-only
    /// filesystem, a missing or wrong kind of path, too many open files); exit 3 for a disk that fails to read
    /// or write (EIO: the bytes cannot be trusted); anything else is unforeseen (exit 1, a bug).
    public var category: ErrorCategory {
        if ErrorCategory.isOutOfSpace(errno: errno) { return .outOfSpace }
        if Self.setupErrors.contains(errno) { return .usage }
        if errno == EIO { return .integrity }
        return .unexpected
    }

    /// The errno values that name a problem of the machine's setup, not of model-sync.
    static let setupErrors: Set<Int32> = [
        EACCES, EPERM, EROFS, ENOENT, ENOTDIR, EISDIR, ELOOP, ENAMETOOLONG, EEXIST, ETXTBSY, EMLINK, EXDEV,
        EMFILE, ENFILE, ENOTEMPTY,
    ]

    public var message: String {
        if ErrorCategory.isOutOfSpace(errno: errno) {
            return "no space left on \(path) (\(operation): \(String(cString: strerror(errno))))"
        }
        return "\(operation) \(path): \(String(cString: strerror(errno)))"
    }

    public var hint: String? {
        switch errno {
        case ENOSPC, EDQUOT:
            return "free some space on the filesystem holding \(path) (`model-sync gc` removes unreferenced objects), "
                + "then run the command again; the previous set is still active"
        case EACCES, EPERM: return "check the permissions of \(path) and of the folders above it for this user"
        case ENOENT: return "check that the path exists"
        case EROFS: return "the filesystem holding \(path) is mounted read-only: remount it read-write or move the store"
        case ENOTDIR, EISDIR, ELOOP: return "\(path) is not the kind of file expected there: check it and the folders above it"
        case ENAMETOOLONG: return "shorten the path"
        case EMFILE, ENFILE: return "too many open files: raise the limit (ulimit -n) and run the command again"
        case EIO: return "the disk reports an I/O error: check it (dmesg), then run `model-sync fsck`"
        default: return nil
        }
    }

    public init(errno: Int32, operation: String, path: String) {
        self.errno = errno
        self.operation = operation
        self.path = path
    }

    /// Builds the error from the calling thread's current `errno`. Call it right after the failing call.
    public static func current(_ operation: String, _ path: String) -> IOError {
        IOError(errno: Glibc.errno, operation: operation, path: path)
    }
}
