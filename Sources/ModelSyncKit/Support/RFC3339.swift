import Foundation

extension Date {
    /// The time as RFC 3339 in UTC, to the second (`2026-11-30T01:09:01Z`): how every time is written in
    /// JSON output and logs.
    public var rfc3339: String {
        formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
    }

    /// Parses what ``rfc3339`` writes (`2026-11-30T01:09:01Z`); nil for anything else.
    public init?(rfc3339 text: String) {
        guard let date = try? Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).parse(text) else { return nil }
        self = date
    }
}
