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

    /// Exit 9 for a full disk or quota; any other failed system call is unforeseen.
    public var category: ErrorCategory {
        ErrorCategory.isOutOfSpace(errno: errno) ? .outOfSpace : .unexpected
    }

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
        case EACCES, EPERM: return "check the permissions of \(path)"
        case ENOENT: return "check that the path exists"
        case EROFS: return "the filesystem is read-only"
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
