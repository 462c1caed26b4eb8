/// The accepted range of one numeric configuration key: a minimum (included or not) and a maximum.
///
/// Every numeric key has one, so that no value — NaN, an infinity, a negative or an absurd `1e300` — reaches
/// code that converts seconds to milliseconds or counts to `Int`. docs/configuration.md lists the same table.
struct ConfigRange: Sendable {
    /// The smallest accepted value (or the bound just below it, when `minimumIncluded` is false).
    let minimum: Double
    /// Whether `minimum` itself is accepted (`≥`) or not (`>`).
    let minimumIncluded: Bool
    /// The largest accepted value.
    let maximum: Double

    /// `> 0` seconds up to `maximum`.
    static func positive(upTo maximum: Double) -> ConfigRange {
        ConfigRange(minimum: 0, minimumIncluded: false, maximum: maximum)
    }

    /// `≥ minimum` up to `maximum`.
    static func atLeast(_ minimum: Double, upTo maximum: Double) -> ConfigRange {
        ConfigRange(minimum: minimum, minimumIncluded: true, maximum: maximum)
    }

    /// True when `value` is a finite number inside the range.
    func contains(_ value: Double) -> Bool {
        value.isFinite && (minimumIncluded ? value >= minimum : value > minimum) && value <= maximum
    }

    /// `a positive number ≤ 3600`, `a number ≥ 0 and ≤ 86400`, `an integer ≥ 1 and ≤ 1000`.
    func expectation(integer: Bool) -> String {
        let kind = integer ? "an integer" : "a number"
        let top = Self.format(maximum)
        if !minimumIncluded && minimum == 0 && !integer { return "a positive number ≤ \(top)" }
        return "\(kind) \(minimumIncluded ? "≥" : ">") \(Self.format(minimum)) and ≤ \(top)"
    }

    /// Whole numbers without a decimal point (`3600`, `1125899906842624`).
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e18 ? String(Int64(value)) : String(value)
    }
}

extension Config {
    /// One day, one week and ten years, in seconds.
    private static let day = 86_400.0, week = 604_800.0, decade = 315_360_000.0

    /// The range of every numeric key, by dotted key. A numeric key missing here is a programming error (the
    /// reader traps), so a new key cannot slip in without a range; `ConfigRangeTests` walks this table.
    static let numericRanges: [String: ConfigRange] = [
        "model_sync.keep_generations": .atLeast(1, upTo: 1000),
        "model_sync.lock_timeout_sec": .atLeast(0, upTo: day),
        "model_sync.publisher.train_timeout_sec": .positive(upTo: week),
        "model_sync.runpod.request_timeout_sec": .positive(upTo: 3600),
        "model_sync.runpod.poll_interval_sec": .positive(upTo: 3600),
        "model_sync.runpod.job_timeout_sec": .positive(upTo: week),
        "model_sync.runpod.download_timeout_sec": .positive(upTo: day),
        // 1 PiB: far above any model set, far below where byte counts overflow.
        "model_sync.runpod.max_archive_bytes": .atLeast(1, upTo: 1_125_899_906_842_624),
        "model_sync.runpod.max_extract_bytes": .atLeast(1, upTo: 1_125_899_906_842_624),
        "model_sync.runpod.retry_min_sec": .atLeast(0, upTo: day),
        "model_sync.runpod.max_jobs_per_day": .atLeast(1, upTo: 1000),
        "model_sync.registry.keep_manifests": .atLeast(1, upTo: 100_000),
        // Each transfer holds a connection and a buffer; hosts throttle far below this.
        "model_sync.git.lfs_concurrency": .atLeast(1, upTo: 64),
        "model_sync.oci.concurrency": .atLeast(1, upTo: 64),
        "model_sync.gc.grace_sec": .atLeast(0, upTo: decade),
        // A release valid for less than a minute could expire between publish and pull; a year is plenty.
        "model_sync.signing.expires_sec": .atLeast(60, upTo: 366 * day),
        "model_sync.signing.threshold": .atLeast(1, upTo: 100),
        "model_sync.activation.health_timeout_sec": .positive(upTo: day),
        // More than a day of jitter would skip a daily run.
        "model_sync.daemon.jitter_sec": .atLeast(0, upTo: day),
        "model_sync.daemon.retry_initial_sec": .positive(upTo: day),
        "model_sync.daemon.retry_max_sec": .positive(upTo: week),
    ]
}
