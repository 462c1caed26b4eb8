/// `model_sync.publisher`: when the publisher daemon publishes, and the training that may come first.
public struct PublisherConfig: Sendable, Hashable {
    /// `schedule` ["00:00"]: the daily time of the publisher daemon, `HH:MM`.
    public var schedule: String = "00:00"
    /// `train_before_push` [false]: run `train_command` before each publish.
    public var trainBeforePush: Bool = false
    /// `train_command`: a shell command (`/bin/sh -c`) that retrains the models in place.
    public var trainCommand: String?
    /// `train_timeout_sec`: the training's time limit in seconds; nil means no limit.
    public var trainTimeoutSec: Double?

    /// The defaults.
    public init() {}

    /// `schedule` as a time of day (validated when the configuration is loaded).
    public var scheduleTime: DailyTime { DailyTime(parsing: schedule) ?? DailyTime(parsing: "00:00")! }
}
