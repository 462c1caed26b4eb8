import Foundation

/// What a RunPod client remembers of the paid jobs it started, kept in the store (a named value) so that a
/// restart never starts a second job for the same run: the job being waited for, when jobs were triggered
/// (for `runpod.max_jobs_per_day`) and when the last one failed (for `runpod.retry_min_sec`).
///
/// Written under the store lock at each step; read without it.
public struct RunPodJobLedger: Sendable, Equatable, Codable {
    /// A job submitted and not yet finished with.
    public struct Pending: Sendable, Equatable, Codable {
        /// RunPod's job id.
        public var id: String
        /// When it was submitted.
        public var submitted: Date
    }

    /// The job to resume polling after a restart; nil when none is outstanding.
    public var pending: Pending?
    /// When each job of the last 24 hours was triggered, oldest first.
    public var triggers: [Date] = []
    /// When the last job failed (FAILED, CANCELLED, TIMED_OUT or past `job_timeout_sec`).
    public var lastFailure: Date?

    /// The store value the ledger lives in.
    static let valueName = "runpod.jobs"

    public init(pending: Pending? = nil, triggers: [Date] = [], lastFailure: Date? = nil) {
        self.pending = pending
        self.triggers = triggers
        self.lastFailure = lastFailure
    }

    /// The ledger in `store`; an unreadable value reads as empty (nothing outstanding).
    public static func load(from store: Store) throws -> RunPodJobLedger {
        guard let text = try store.value(named: valueName) else { return RunPodJobLedger() }
        return (try? JSONCoding.decode(RunPodJobLedger.self, from: Array(text.utf8))) ?? RunPodJobLedger()
    }

    /// Saves the ledger in `store` (which must hold the lock).
    public func save(to store: Store) throws {
        try store.setValue(try JSONCoding.encode(self), named: Self.valueName)
    }

    /// Triggers within the 24 hours before `now`.
    public func triggers(inDayBefore now: Date) -> [Date] {
        triggers.filter { now.timeIntervalSince($0) < 86_400 }
    }

    /// Why no new job may be triggered at `now`, or nil when one may: the cap of `maxPerDay` jobs in 24
    /// hours, or a failure less than `retryMin` seconds ago.
    public func refusal(now: Date, maxPerDay: Int64, retryMin: Double) -> RunPodError? {
        let recent = triggers(inDayBefore: now)
        if recent.count >= maxPerDay, let oldest = recent.min() {
            let next = oldest.addingTimeInterval(86_400)
            return RunPodError(.throttled, "\(recent.count) RunPod jobs were triggered in the last 24 hours, the cap of "
                               + "runpod.max_jobs_per_day (\(maxPerDay)); the next may start at \(next.rfc3339)",
                               hint: "look at why the jobs fail (the worker's logs in the RunPod console), or raise "
                                   + "runpod.max_jobs_per_day")
        }
        if let lastFailure, now.timeIntervalSince(lastFailure) < retryMin {
            let next = lastFailure.addingTimeInterval(retryMin)
            return RunPodError(.throttled, "the last RunPod job failed at \(lastFailure.rfc3339); no new job before "
                               + "\(next.rfc3339) (runpod.retry_min_sec: \(Int(retryMin)))",
                               hint: "wait, or lower runpod.retry_min_sec")
        }
        return nil
    }

    /// Records a job just submitted: it is pending, and counts toward the daily cap.
    public mutating func submitted(_ id: String, at now: Date) {
        pending = Pending(id: id, submitted: now)
        triggers = triggers(inDayBefore: now) + [now]
    }

    /// Records that the pending job is finished with; `failed` marks the time for `retry_min_sec`.
    public mutating func finished(failed: Bool, at now: Date) {
        pending = nil
        if failed { lastFailure = now }
    }
}
