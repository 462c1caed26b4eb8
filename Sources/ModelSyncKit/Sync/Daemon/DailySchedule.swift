import Foundation

/// A daily time (`"HH:MM"`) in a time zone, and the instants it names.
///
/// Daylight-saving changes: a time that does not exist on a day (skipped by a spring-forward gap) runs at
/// the first instant after the gap; a time that exists twice (the autumn repeat) runs once, at its first
/// occurrence.
public struct DailySchedule: Sendable, Equatable {
    public let time: DailyTime
    public let timeZone: TimeZone

    public init(time: DailyTime, timeZone: TimeZone) {
        self.time = time
        self.timeZone = timeZone
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The slot on the calendar day of `day` (in this time zone).
    public func slot(onDayOf day: Date) -> Date {
        let calendar = self.calendar
        let start = calendar.startOfDay(for: day)
        var components = calendar.dateComponents([.year, .month, .day], from: start)
        components.hour = time.hour
        components.minute = time.minute
        components.second = 0
        if let exact = calendar.date(from: components),
           calendar.component(.hour, from: exact) == time.hour, calendar.component(.minute, from: exact) == time.minute {
            // Foundation picks the first of two repeated instants.
            return earliestInstant(matching: exact)
        }
        // The time falls in a gap: the first instant after it is the gap's end.
        return calendar.nextDate(after: start, matching: DateComponents(hour: time.hour, minute: time.minute),
                                 matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward) ?? start
    }

    /// When a wall-clock time repeats (autumn), the earlier of the two instants.
    private func earliestInstant(matching date: Date) -> Date {
        let earlier = date.addingTimeInterval(-3600)
        let calendar = self.calendar
        if calendar.component(.hour, from: earlier) == time.hour, calendar.component(.minute, from: earlier) == time.minute,
           calendar.isDate(earlier, inSameDayAs: date) {
            return earlier
        }
        return date
    }

    /// The first slot strictly after `date`.
    public func next(after date: Date) -> Date {
        var day = date
        for _ in 0..<4 {
            let candidate = slot(onDayOf: day)
            if candidate > date { return candidate }
            day = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: day))!.addingTimeInterval(3600 * 2)
        }
        return date.addingTimeInterval(86_400)
    }

    /// The latest slot at or before `date`.
    public func latest(atOrBefore date: Date) -> Date {
        let today = slot(onDayOf: date)
        if today <= date { return today }
        let yesterday = calendar.date(byAdding: .day, value: -1, to: calendar.startOfDay(for: date))!.addingTimeInterval(3600 * 2)
        return slot(onDayOf: yesterday)
    }
}
