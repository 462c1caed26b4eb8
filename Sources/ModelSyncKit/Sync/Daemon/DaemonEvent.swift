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

/// One `--log-format json` line: `time`, `level`, `role`, `event`, then the event's own fields, those that read
/// as integers written as numbers (so `fetched_bytes` sums without parsing).
extension DaemonEvent: Encodable {
    /// The event's field names are open-ended, so the keys are made at run time.
    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Writes the event as one flat JSON object.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(DaemonEvent.format(time), forKey: Key("time"))
        try container.encode(level.rawValue, forKey: Key("level"))
        try container.encode(role.rawValue, forKey: Key("role"))
        try container.encode(event, forKey: Key("event"))
        for (name, value) in fields {
            if let number = Int(value) {
                try container.encode(number, forKey: Key(name))
            } else {
                try container.encode(value, forKey: Key(name))
            }
        }
    }
}
