#if canImport(Glibc)
internal import Glibc
#endif

/// What kind of failure an error is: it decides the command's exit code (docs/cli.md).
///
/// A struct with static members rather than an enum, so categories can be added without breaking callers.
public struct ErrorCategory: Hashable, Sendable, CustomStringConvertible {
    /// The process exit code for this category.
    public let exitCode: Int32
    /// A short name used in JSON output and logs.
    public let name: String

    /// A bug or an unforeseen condition (exit 1).
    public static let unexpected = ErrorCategory(exitCode: 1, name: "unexpected")
    /// A usage, configuration or precondition error the user must fix (exit 2).
    public static let usage = ErrorCategory(exitCode: 2, name: "usage")
    /// A hash or size mismatch, a corrupt object, an invalid manifest or archive (exit 3).
    public static let integrity = ErrorCategory(exitCode: 3, name: "integrity")
    /// Network, HTTP, git remote, remote job failure or timeout (exit 4).
    public static let remote = ErrorCategory(exitCode: 4, name: "remote")
    /// Another model-sync holds the store lock (exit 5).
    public static let busy = ErrorCategory(exitCode: 5, name: "busy")
    /// The new set failed its health check and the previous set was restored (exit 6).
    public static let healthCheck = ErrorCategory(exitCode: 6, name: "health-check")
    /// `fsck` found problems it did not repair (exit 7).
    public static let fsckProblems = ErrorCategory(exitCode: 7, name: "fsck")
    /// A configured command (training, on_activate) failed (exit 8).
    public static let commandFailed = ErrorCategory(exitCode: 8, name: "command-failed")
    /// The filesystem is full or the quota is reached (ENOSPC, EDQUOT): what was half-built is removed and
    /// the previous set stays active (exit 9).
    public static let outOfSpace = ErrorCategory(exitCode: 9, name: "out-of-space")

    /// True for the `errno` values that mean "no space left": ENOSPC and EDQUOT.
    public static func isOutOfSpace(errno code: Int32) -> Bool {
        code == ENOSPC || code == EDQUOT
    }

    /// True when a C library's message carries the system's wording of ENOSPC or EDQUOT (for libraries that
    /// report the failed call's `errno` only as text, such as libgit2).
    public static func mentionsOutOfSpace(_ text: String) -> Bool {
        [ENOSPC, EDQUOT].contains { text.contains(String(cString: strerror($0))) }
    }

    public var description: String { name }
}

/// The protocol every error thrown by ModelSyncKit conforms to.
///
/// The CLI prints `message`, then `hint` on its own line, and exits with `category.exitCode`.
public protocol ModelSyncError: Error, CustomStringConvertible, Sendable {
    /// Decides the exit code.
    var category: ErrorCategory { get }
    /// One line that says what went wrong, naming the file, key, URL or digest involved.
    var message: String { get }
    /// One line that says what the user can do about it, when there is something to say.
    var hint: String? { get }
}

extension ModelSyncError {
    public var hint: String? { nil }
    public var description: String { message }
}

/// Maps any error to a `ModelSyncError`: library errors pass through, anything else is reported as a bug.
public func modelSyncError(from error: any Error) -> any ModelSyncError {
    if let known = error as? any ModelSyncError { return known }
    return UnexpectedError(message: "unexpected error: \(error)")
}

/// Runs `body`, returning `fallback` when it fails for lack of space. For the bookkeeping that follows work
/// already done (an event, a retention pass): a full disk there must not turn a completed change into an
/// error that says the previous state was kept.
func unlessOutOfSpace<T>(_ fallback: T, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error where modelSyncError(from: error).category == .outOfSpace {
        return fallback
    }
}

/// An error that should not happen: the message says so, the exit code is 1.
public struct UnexpectedError: ModelSyncError {
    public let message: String
    public var category: ErrorCategory { .unexpected }
    public var hint: String? { "this is a bug in model-sync; please report it with the command and its output" }
    public init(message: String) { self.message = message }
}
