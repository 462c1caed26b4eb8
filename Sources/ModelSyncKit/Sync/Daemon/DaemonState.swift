import Foundation

/// What the daemon remembers of a role between runs and restarts (kept in the store's index).
public struct DaemonState: Sendable, Equatable {
    public var lastRun: Date?
    public var lastSuccess: Date?
    /// `activated`, `up-to-date`, `published`, `rolled-back`, `failed`…
    public var lastResult: String?
    /// The last failure's message (never a secret: error messages carry none).
    public var lastError: String?

    public init(lastRun: Date? = nil, lastSuccess: Date? = nil, lastResult: String? = nil, lastError: String? = nil) {
        self.lastRun = lastRun
        self.lastSuccess = lastSuccess
        self.lastResult = lastResult
        self.lastError = lastError
    }
}

extension Store {
    /// The daemon's saved state for `role`.
    public func daemonState(role: String) throws -> DaemonState { try index.daemonState(role: role) }

    /// Saves the daemon's state for `role`.
    public func saveDaemonState(_ state: DaemonState, role: String) throws { try index.saveDaemonState(state, role: role) }
}
