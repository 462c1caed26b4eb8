import Foundation

/// What a daemon reports as it goes; the CLI turns each into one log line.
public struct DaemonEvent: Sendable {
    public enum Level: String, Sendable { case info, warning, error }

    public var time: Date
    public var level: Level
    public var role: DaemonRole
    /// `started`, `run-started`, `run-finished`, `run-failed`, `waiting`, `stopped`.
    public var event: String
    /// Figures and details, in a stable order (files, bytes, seconds, next run…).
    public var fields: [(String, String)]

    public init(time: Date, level: Level, role: DaemonRole, event: String, fields: [(String, String)] = []) {
        self.time = time
        self.level = level
        self.role = role
        self.event = event
        self.fields = fields
    }
}
