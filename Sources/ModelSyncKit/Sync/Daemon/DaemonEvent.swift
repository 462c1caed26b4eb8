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

extension DaemonEvent {
    /// The `command-finished` event of a configured command run by the daemon's job: its name, how it ended,
    /// its exit status when it exited, and the end of its stdout and stderr (already scrubbed of secrets).
    public init(commandReport report: CommandReport, role: DaemonRole, time: Date = Date()) {
        var fields: [(String, String)] = [("command", report.name), ("outcome", report.outcome.description)]
        if case .exited(let status) = report.outcome { fields.append(("exit_status", String(status))) }
        fields += [("stdout", report.stdout), ("stderr", report.stderr)]
        let succeeded = report.outcome == .exited(0)
        self.init(time: time, level: succeeded ? .info : .warning, role: role, event: "command-finished", fields: fields)
    }

    /// The event with its text fields scrubbed of secrets; fields written as numbers stay numbers.
    public func scrubbed(with scrubber: SecretScrubber = .shared) -> DaemonEvent {
        var copy = self
        copy.fields = fields.map { name, value in
            !Self.textFields.contains(name) && Self.number(value) != nil ? (name, value) : (name, scrubber.scrub(value))
        }
        return copy
    }

    /// Fields that are text whatever they look like: a message or a command's output that happens to read
    /// `404` stays a string.
    static let textFields: Set<String> = ["error", "hint", "stdout", "stderr", "command", "outcome", "result"]

    /// `value` as a JSON number when it is written as one (`12`, `-3`, `0.250`), else nil.
    static func number(_ value: String) -> JSONNumber? {
        if let integer = Int64(value) { return .integer(integer) }
        var digits = Substring(value)
        if digits.first == "-" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let double = Double(value), double.isFinite
        else { return nil }
        return .decimal(double)
    }

    /// An integer or a decimal number of a JSON log line.
    enum JSONNumber: Equatable {
        case integer(Int64)
        case decimal(Double)
    }
}

/// One `--log-format json` line: `time`, `level`, `role`, `event`, then the event's own fields, those that are
/// written as numbers (`fetched_bytes`, `seconds`, `exit_code`) as JSON numbers, so they sum without parsing.
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
            switch Self.textFields.contains(name) ? nil : Self.number(value) {
            case .integer(let number): try container.encode(number, forKey: Key(name))
            case .decimal(let number): try container.encode(number, forKey: Key(name))
            case nil: try container.encode(value, forKey: Key(name))
            }
        }
    }
}
