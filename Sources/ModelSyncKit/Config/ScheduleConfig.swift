/// `model_sync.client` and `model_sync.runpod_client`: the daily time of that role's daemon.
public struct ScheduleConfig: Sendable, Hashable {
    /// `schedule`: the daily time, `HH:MM`.
    public var schedule: String

    /// A schedule at `schedule` (`"06:00"`).
    public init(schedule: String) {
        self.schedule = schedule
    }

    /// `schedule` as a time of day (validated when the configuration is loaded).
    public var scheduleTime: DailyTime { DailyTime(parsing: schedule) ?? DailyTime(parsing: "00:00")! }
}
