/// A precondition the user must fix: a bad argument, a missing file, a dirty worktree, a bad manifest reference.
public struct UsageError: ModelSyncError {
    public let message: String
    public let hint: String?
    public var category: ErrorCategory { .usage }

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}
