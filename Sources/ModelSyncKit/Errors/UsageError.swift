/// A precondition the user must fix: a bad argument, a missing file, a dirty worktree, a bad manifest reference.
public struct UsageError: ModelSyncError {
    public let message: String
    public let hint: String?
    public var category: ErrorCategory { .usage }
    /// True for the few preconditions that another machine fixes in time (nothing published to the registry
    /// yet): a daemon keeps retrying them, while every other usage error stops it.
    public let healsByWaiting: Bool

    public init(_ message: String, hint: String? = nil, healsByWaiting: Bool = false) {
        self.message = message
        self.hint = hint
        self.healsByWaiting = healsByWaiting
    }
}
