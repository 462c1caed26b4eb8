import Foundation

/// What the daemon remembers of a role between runs and restarts (kept in the store as a named value).
public struct DaemonState: Sendable, Equatable {
    public var lastRun: Date?
    public var lastSuccess: Date?
    /// `activated`, `up-to-date`, `published`, `rolled-back`, `failed`…
    public var lastResult: String?
    /// The last failure's message (never a secret: error messages carry none).
    public var lastError: String?
    /// Failed runs in a row (0 after a success): a restarted daemon resumes its retries from here.
    public var failures: Int

    public init(lastRun: Date? = nil, lastSuccess: Date? = nil, lastResult: String? = nil, lastError: String? = nil,
                failures: Int = 0) {
        self.lastRun = lastRun
        self.lastSuccess = lastSuccess
        self.lastResult = lastResult
        self.lastError = lastError
        self.failures = failures
    }

    /// The store value name for `role`'s state; the index migration that moved the old per-role table
    /// into named values wrote the same names.
    static func valueName(role: String) -> String { "daemon." + role }

    /// The stored form: whole seconds since 1970, as the daemon has always kept them.
    private struct Stored: Codable {
        var lastRun: Int64?
        var lastSuccess: Int64?
        var lastResult: String?
        var lastError: String?
        var failures: Int?

        enum CodingKeys: String, CodingKey {
            case lastRun = "last_run", lastSuccess = "last_success", lastResult = "last_result", lastError = "last_error"
            case failures
        }
    }

    /// The JSON object saved in the store.
    func encoded() throws -> String {
        let stored = Stored(lastRun: lastRun.map(DaemonState.seconds), lastSuccess: lastSuccess.map(DaemonState.seconds),
                            lastResult: lastResult, lastError: lastError, failures: failures > 0 ? failures : nil)
        return try JSONCoding.encode(stored)
    }

    /// Reads a state saved by `encoded()`; a value that does not decode reads as no state (the daemon
    /// then simply runs as on its first start).
    init(decoding text: String) {
        guard let stored = try? JSONCoding.decode(Stored.self, from: Array(text.utf8)) else {
            self.init()
            return
        }
        self.init(lastRun: stored.lastRun.map(DaemonState.date), lastSuccess: stored.lastSuccess.map(DaemonState.date),
                  lastResult: stored.lastResult, lastError: stored.lastError, failures: max(0, stored.failures ?? 0))
    }

    private static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970) }
    private static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
}

extension Store {
    /// The daemon's saved state for `role` (empty when it never ran).
    public func daemonState(role: String) throws -> DaemonState {
        try value(named: DaemonState.valueName(role: role)).map(DaemonState.init(decoding:)) ?? DaemonState()
    }

    /// Saves the daemon's state for `role`.
    public func saveDaemonState(_ state: DaemonState, role: String) throws {
        try setValue(try state.encoded(), named: DaemonState.valueName(role: role))
    }
}
