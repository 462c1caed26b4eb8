/// `model_sync.daemon`: how the daily daemon schedules and retries.
public struct DaemonConfig: Sendable, Hashable {
    /// `timezone`: the IANA time zone of the schedules (`Europe/Paris`); nil means the local time zone.
    public var timezone: String?
    /// `jitter_sec` [0]: a random delay up to this many seconds added to each scheduled run.
    public var jitterSec: Double = 0
    /// `retry_initial_sec` [60]: the first retry delay after a failed run (doubling each time).
    public var retryInitialSec: Double = 60
    /// `retry_max_sec` [3600]: the longest retry delay.
    public var retryMaxSec: Double = 3600
    /// `metrics_file`: a Prometheus textfile the daemon rewrites after each run.
    public var metricsFile: String?
    /// `metrics_listen`: `host:port` where the daemon serves `GET /metrics` to Prometheus (`127.0.0.1:9464`;
    /// `0.0.0.0:9464` in a container); nil: no endpoint.
    public var metricsListen: ListenAddress?

    /// The defaults.
    public init() {}
}
