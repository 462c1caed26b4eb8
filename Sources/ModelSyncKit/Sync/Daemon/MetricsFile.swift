import Foundation

/// The daemon's Prometheus metrics, written in the text exposition format to a file that node_exporter's
/// textfile collector reads; rewritten atomically (temp file + rename) after every run.
public struct DaemonMetrics: Sendable, Equatable {
    /// The set a machine runs: which generation `models_dir` points at, and its manifest.
    public struct ActiveSet: Sendable, Equatable {
        public var generation: Int
        public var manifest: Digest
        /// When the signed release that named this set expires (docs/signing.md), nil when none did.
        public var releaseExpires: Date?
        public init(generation: Int, manifest: Digest, releaseExpires: Date? = nil) {
            self.generation = generation
            self.manifest = manifest
            self.releaseExpires = releaseExpires
        }
    }

    public var lastRun: Date?
    public var lastSuccess: Date?
    /// Runs since the daemon started, by result (`activated`, `up-to-date`, `failed`…).
    public var runs: [String: Int] = [:]
    public var activeGeneration: Int?
    /// The active set as the store records it; when set, it wins over what runs reported.
    public var active: ActiveSet?
    /// The `host` label of `model_sync_active_manifest_info`: this machine's name.
    public var host: String = ProcessInfo.processInfo.hostName
    public var fetchedBytes: UInt64 = 0
    public var fetchedObjects: Int = 0
    public var rollbacks = 0
    public var lastDuration: Double?
    public var durationSum: Double = 0
    public var durationCount = 0
    /// The exit code of the error that stopped the daemon (one retrying cannot fix), nil while it runs.
    public var stoppedOnError: Int32?
    /// RunPod jobs triggered since the daemon started.
    public var runPodJobs = 0

    public init() {}

    /// Counts a run that returned `outcome` after `seconds`.
    public mutating func record(_ outcome: DaemonRunOutcome, seconds: Double) {
        runs[outcome.result, default: 0] += 1
        fetchedBytes += outcome.fetchedBytes
        fetchedObjects += outcome.fetchedObjects
        if outcome.result == ActivationResult.Outcome.rolledBack.rawValue { rollbacks += 1 }
        if let generation = outcome.generation { activeGeneration = generation }
        recordDuration(seconds)
    }

    /// Counts a run that threw after `seconds` (result `failed`).
    public mutating func recordFailure(seconds: Double) {
        runs["failed", default: 0] += 1
        recordDuration(seconds)
    }

    private mutating func recordDuration(_ seconds: Double) {
        lastDuration = seconds
        durationSum += seconds
        durationCount += 1
    }

    /// The exposition text for `role`.
    public func render(role: DaemonRole) -> String {
        let label = "role=\"\(role.rawValue)\""
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for (labels, value) in samples { lines.append("\(name){\(labels)} \(value)") }
        }
        func seconds(_ date: Date?) -> String { date.map { String(Int($0.timeIntervalSince1970)) } ?? "0" }
        metric("model_sync_last_run_timestamp_seconds", "gauge", "Unix time of the last run, successful or not.",
               [(label, seconds(lastRun))])
        metric("model_sync_last_success_timestamp_seconds", "gauge", "Unix time of the last successful run.",
               [(label, seconds(lastSuccess))])
        metric("model_sync_runs_total", "counter", "Runs since the daemon started, by result.",
               runs.keys.sorted().map { ("\(label),result=\"\($0)\"", String(runs[$0]!)) })
        metric("model_sync_active_generation", "gauge", "The generation models_dir points at (0 when none).",
               [(label, String(active?.generation ?? activeGeneration ?? 0))])
        if let active {
            // An info metric: the value is 1, the labels are the facts — the fleet view of who runs which set.
            let labels = "manifest=\"\(active.manifest)\",generation=\"\(active.generation)\",\(label),host=\"\(Self.escape(host))\""
            metric("model_sync_active_manifest_info", "gauge", "The manifest of the set models_dir points at, by host.",
                   [(labels, "1")])
        }
        if let expires = active?.releaseExpires {
            // Both forms: the seconds left as of this write, and the time itself for alerts on `time()`.
            metric("model_sync_release_expiry_seconds", "gauge",
                   "Seconds until the signed release of the active set expires, as of the last run (negative: expired).",
                   [(label, String(Int(expires.timeIntervalSinceNow.rounded(.down))))])
            metric("model_sync_release_expires_timestamp_seconds", "gauge",
                   "Unix time at which the signed release of the active set expires.", [(label, seconds(expires))])
        }
        metric("model_sync_fetched_bytes_total", "counter", "Blob bytes fetched since the daemon started.",
               [(label, String(fetchedBytes))])
        metric("model_sync_fetched_objects_total", "counter", "Blobs fetched since the daemon started.",
               [(label, String(fetchedObjects))])
        metric("model_sync_rollbacks_total", "counter", "Sets rolled back after a failed health check.",
               [(label, String(rollbacks))])
        metric("model_sync_last_run_duration_seconds", "gauge", "How long the last run took.",
               [(label, String(format: "%.3f", lastDuration ?? 0))])
        if role == .runpodClient {
            metric("model_sync_runpod_jobs_total", "counter", "RunPod jobs triggered since the daemon started.",
                   [(label, String(runPodJobs))])
        }
        metric("model_sync_stopped_on_error", "gauge",
               "The exit code of an error that stopped the daemon because retrying cannot fix it (0: running).",
               [(label, String(stoppedOnError ?? 0))])
        metric("model_sync_run_duration_seconds", "summary", "Run durations since the daemon started.",
               [])
        lines.append("model_sync_run_duration_seconds_sum{\(label)} \(String(format: "%.3f", durationSum))")
        lines.append("model_sync_run_duration_seconds_count{\(label)} \(durationCount)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value with backslash, quote and line feed escaped, as the exposition format asks.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Writes the file atomically, so the collector never reads half of it.
    public func write(to path: String, role: DaemonRole) throws {
        try FileSystem.makeDirectories((FileSystem.absolute(path) as NSString).deletingLastPathComponent)
        try FileSystem.writeAtomically(Array(render(role: role).utf8), to: FileSystem.absolute(path))
    }
}
