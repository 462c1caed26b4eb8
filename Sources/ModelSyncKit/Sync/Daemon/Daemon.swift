import Foundation

/// Runs a role's job every day at its schedule until asked to stop.
///
/// - A daemon with no history waits for its next slot: installing it neither trains a model nor starts a paid
///   RunPod job. `runNow` runs at once. A slot missed since the last recorded run (the machine was down) is
///   caught up once, at start; a daemon stopped while retrying a failure resumes its retries.
/// - A failed run is retried with exponential backoff until the next slot — unless the error cannot heal by
///   waiting (a configuration or usage error such as a missing key): then the loop stops and says so.
/// - A reload request (SIGHUP) re-reads the configuration between runs; an invalid one keeps the old.
/// - `shouldStop` is checked between steps and while waiting: a run in progress completes (an activation
///   is never cut in half), then the loop returns.
/// The clock, the sleep and the job are injected so tests can drive days in milliseconds.
public struct Daemon: Sendable {
    public let role: DaemonRole
    public let schedule: DailySchedule
    public let jitter: Double
    public let backoff: RetryBackoff
    public let metricsFile: String?

    public init(role: DaemonRole, schedule: DailySchedule, jitter: Double, backoff: RetryBackoff, metricsFile: String?) {
        self.role = role
        self.schedule = schedule
        self.jitter = jitter
        self.backoff = backoff
        self.metricsFile = metricsFile
    }

    /// Builds the daemon from a configuration.
    public init(role: DaemonRole, config: Config) throws {
        let zone: TimeZone
        if let name = config.daemon.timezone {
            guard let named = TimeZone(identifier: name) else {
                throw UsageError("unknown time zone \"\(name)\" in model_sync.daemon.timezone")
            }
            zone = named
        } else {
            zone = TimeZone.current
        }
        // A RunPod retry is a new paid job: never sooner than runpod.retry_min_sec.
        let initial = role == .runpodClient ? max(config.daemon.retryInitialSec, config.runpod.retryMinSec)
                                            : config.daemon.retryInitialSec
        self.init(role: role, schedule: DailySchedule(time: role.scheduleTime(in: config), timeZone: zone),
                  jitter: config.daemon.jitterSec,
                  backoff: RetryBackoff(initial: initial, maximum: max(initial, config.daemon.retryMaxSec)),
                  metricsFile: config.daemon.metricsFile)
    }

    /// True when a slot passed since the last recorded run: the daemon was down at that time.
    public func missedSlot(_ state: DaemonState, now: Date) -> Bool {
        guard let lastRun = state.lastRun else { return false }
        return lastRun < schedule.latest(atOrBefore: now)
    }

    /// When the first run happens.
    public func firstRun(state: DaemonState, now: Date, runNow: Bool) -> Date {
        if runNow || missedSlot(state, now: now) { return now }
        if let lastRun = state.lastRun, state.failures > 0 {
            // Stopped while retrying: the retry it was waiting for, never later than the next slot.
            let retry = lastRun.addingTimeInterval(backoff.delay(attempt: state.failures))
            return max(now, min(retry, slotWithJitter(after: now)))
        }
        return slotWithJitter(after: now)
    }

    /// When the next run happens after a run that ended at `now`, successful or not (`failures` in a row).
    public func nextRun(after now: Date, failures: Int) -> Date {
        let slot = slotWithJitter(after: now)
        guard failures > 0 else { return slot }
        let retry = now.addingTimeInterval(backoff.delay(attempt: failures))
        return min(retry, slot)
    }

    /// Whether retrying can fix `failure`: everything but usage and configuration errors, and the few usage
    /// errors another machine fixes in time (nothing published yet).
    public static func healsByWaiting(_ failure: any ModelSyncError) -> Bool {
        guard failure.category == .usage else { return true }
        return (failure as? UsageError)?.healsByWaiting ?? false
    }

    private func slotWithJitter(after date: Date) -> Date {
        schedule.next(after: date).addingTimeInterval(jitter > 0 ? Double.random(in: 0...jitter) : 0)
    }

    /// What the loop carries from one run to the next.
    private struct LoopState {
        var state: DaemonState
        var metrics = DaemonMetrics()
        /// When the next run is due.
        var next: Date
        /// Set when a run failed in a way waiting cannot fix: the loop ends.
        var fatal: (any ModelSyncError)?

        init(state: DaemonState, next: Date) {
            self.state = state
            self.next = next
            metrics.lastRun = state.lastRun
            metrics.lastSuccess = state.lastSuccess
        }
    }

    /// What waiting for the next run ended with.
    private enum Wait {
        case due, early, stopped
    }

    /// How the loop ended.
    public enum Exit: Sendable {
        /// A stop request (SIGTERM): exit 0.
        case stopped
        /// A run failed with an error that waiting cannot fix; the daemon exits with its code.
        case failed(any ModelSyncError)
    }

    /// The loop. `sleep(seconds)` returns false when it was interrupted by a stop request, and may return
    /// early (true) when a reload was requested.
    @discardableResult
    public func run(runNow: Bool, state access: StateAccess, clock: @escaping @Sendable () -> Date,
                    sleep: @escaping @Sendable (Double) -> Bool, shouldStop: @escaping @Sendable () -> Bool,
                    events: @escaping @Sendable (DaemonEvent) -> Void, reload: DaemonReload? = nil,
                    metrics endpoint: MetricsEndpoint? = nil, job: @escaping DaemonReload.Job) -> Exit {
        let state = access.load()
        var current = (daemon: self, job: job)
        var loop = LoopState(state: state, next: firstRun(state: state, now: clock(), runNow: runNow))
        loop.metrics.active = access.active()
        var started = startedEvent(loop, now: clock())
        if let endpoint { started.fields.append(("metrics", "http://\(endpoint.address)/metrics")) }
        events(started)
        // Scrapes before the first run see the set this machine runs.
        endpoint?.update(loop.metrics.render(role: role))
        running: while !shouldStop() {
            if let reload, reload.requested() {
                current.daemon.apply(reload, to: &current, loop: &loop, clock: clock, events: events)
            }
            switch wait(until: loop.next, clock: clock, sleep: sleep) {
            case .stopped: break running
            case .early: continue running
            case .due:
                if shouldStop() { break running }
                current.daemon.runOnce(&loop, clock: clock, events: events, job: current.job)
                access.save(loop.state)
                if let active = access.active() { loop.metrics.active = active }
                current.daemon.writeMetrics(loop.metrics, clock: clock, events: events)
                endpoint?.update(loop.metrics.render(role: role))
                if let fatal = loop.fatal {
                    events(DaemonEvent(time: clock(), level: .error, role: role, event: "stopped", fields: [
                        ("reason", "an error that retrying cannot fix"), ("exit_code", String(fatal.category.exitCode)),
                    ]))
                    return .failed(fatal)
                }
            }
        }
        events(DaemonEvent(time: clock(), level: .info, role: role, event: "stopped"))
        return .stopped
    }

    /// Re-reads the configuration; on success the loop continues with the new daemon and job, and a run not
    /// yet due is rescheduled by the new schedule. On failure the old ones stay, and the log says why.
    private func apply(_ reload: DaemonReload, to current: inout (daemon: Daemon, job: DaemonReload.Job),
                       loop: inout LoopState, clock: @Sendable () -> Date, events: @Sendable (DaemonEvent) -> Void) {
        do {
            let (daemon, job) = try reload.load()
            current = (daemon, job)
            let now = clock()
            if loop.next > now { loop.next = daemon.nextRun(after: now, failures: loop.state.failures) }
            events(DaemonEvent(time: now, level: .info, role: role, event: "reloaded", fields: [
                ("schedule", daemon.schedule.time.description), ("timezone", daemon.schedule.timeZone.identifier),
                ("next_run", DaemonEvent.format(loop.next)),
            ]))
        } catch {
            let failure = modelSyncError(from: error)
            events(DaemonEvent(time: clock(), level: .error, role: role, event: "reload-failed", fields: [
                ("error", failure.message), ("hint", failure.hint ?? ""), ("kept", "the previous configuration"),
            ]))
        }
    }

    private func startedEvent(_ loop: LoopState, now: Date) -> DaemonEvent {
        DaemonEvent(time: now, level: .info, role: role, event: "started", fields: [
            ("schedule", schedule.time.description), ("timezone", schedule.timeZone.identifier),
            ("next_run", DaemonEvent.format(loop.next)),
            ("last_success", loop.state.lastSuccess.map(DaemonEvent.format) ?? "never"),
        ])
    }

    /// Sleeps until `next`; `early` when the sleep returned before it (the caller checks for a stop and waits again).
    private func wait(until next: Date, clock: @Sendable () -> Date, sleep: @Sendable (Double) -> Bool) -> Wait {
        let wait = next.timeIntervalSince(clock())
        guard wait > 0 else { return .due }
        if !sleep(wait) { return .stopped }
        return clock() < next ? .early : .due
    }

    /// Runs the job once and records its outcome (or failure) in the state, the metrics and the log.
    private func runOnce(_ loop: inout LoopState, clock: @escaping @Sendable () -> Date,
                         events: @escaping @Sendable (DaemonEvent) -> Void,
                         job: DaemonReload.Job) {
        let started = clock()
        events(DaemonEvent(time: started, level: .info, role: role, event: "run-started"))
        loop.state.lastRun = started
        loop.metrics.lastRun = started
        let context = DaemonRunContext(role: role, clock: clock, events: events)
        do {
            let outcome = try job(context)
            loop.metrics.runPodJobs += context.runPodJobsSubmitted
            events(record(outcome, startedAt: started, in: &loop, clock: clock))
        } catch {
            loop.metrics.runPodJobs += context.runPodJobsSubmitted
            events(recordFailure(error, startedAt: started, in: &loop, clock: clock))
        }
    }

    /// Books a run that returned; the `run-finished` event, a warning when the outcome is not a success.
    private func record(_ outcome: DaemonRunOutcome, startedAt started: Date, in loop: inout LoopState,
                        clock: @Sendable () -> Date) -> DaemonEvent {
        let seconds = clock().timeIntervalSince(started)
        loop.metrics.record(outcome, seconds: seconds)
        loop.state.lastResult = outcome.result
        if outcome.succeeded {
            loop.state.failures = 0
            loop.state.lastSuccess = clock()
            loop.state.lastError = nil
            loop.metrics.lastSuccess = loop.state.lastSuccess
        } else {
            loop.state.failures += 1
            loop.state.lastError = "result \(outcome.result)"
        }
        loop.next = nextRun(after: clock(), failures: loop.state.failures)
        var fields: [(String, String)] = [("result", outcome.result)]
        if let generation = outcome.generation { fields.append(("generation", String(generation))) }
        if let manifest = outcome.manifest { fields.append(("manifest", manifest.description)) }
        if let files = outcome.files { fields.append(("files", String(files))) }
        if let bytes = outcome.bytes { fields.append(("bytes", String(bytes))) }
        fields += [("fetched_objects", String(outcome.fetchedObjects)), ("fetched_bytes", String(outcome.fetchedBytes)),
                   ("seconds", String(format: "%.3f", seconds)), ("next_run", DaemonEvent.format(loop.next))]
        // A held-back set is a success (nothing to retry) that someone should know about.
        let quiet = outcome.succeeded && outcome.result != ActivationResult.Outcome.heldBack.rawValue
        return DaemonEvent(time: clock(), level: quiet ? .info : .warning, role: role,
                           event: "run-finished", fields: fields)
    }

    /// Books a run that threw; the `run-failed` event with the error, its hint and the exit code it would have had.
    private func recordFailure(_ error: any Error, startedAt started: Date, in loop: inout LoopState,
                               clock: @Sendable () -> Date) -> DaemonEvent {
        let failure = modelSyncError(from: error)
        let seconds = clock().timeIntervalSince(started)
        loop.state.failures += 1
        loop.metrics.recordFailure(seconds: seconds)
        loop.state.lastResult = "failed"
        // Kept in the index and shown by later commands: scrubbed now, like every log line.
        loop.state.lastError = SecretScrubber.shared.scrub(failure.message)
        loop.next = nextRun(after: clock(), failures: loop.state.failures)
        var fields: [(String, String)] = [
            ("error", failure.message), ("hint", failure.hint ?? ""), ("exit_code", String(failure.category.exitCode)),
            ("attempt", String(loop.state.failures)), ("seconds", String(format: "%.3f", seconds)),
        ]
        if Self.healsByWaiting(failure) {
            fields.append(("next_run", DaemonEvent.format(loop.next)))
        } else {
            loop.fatal = failure
            loop.metrics.stoppedOnError = failure.category.exitCode
            fields.append(("next_run", "none: fix the configuration, then start the daemon again"))
        }
        return DaemonEvent(time: clock(), level: .error, role: role, event: "run-failed", fields: fields)
    }

    /// Rewrites the metrics file, when one is configured; a failure is logged, never fatal.
    private func writeMetrics(_ metrics: DaemonMetrics, clock: @Sendable () -> Date, events: @Sendable (DaemonEvent) -> Void) {
        guard let metricsFile else { return }
        do {
            try metrics.write(to: metricsFile, role: role)
        } catch {
            events(DaemonEvent(time: clock(), level: .warning, role: role, event: "metrics-failed",
                               fields: [("error", modelSyncError(from: error).message)]))
        }
    }
}

extension DaemonEvent {
    /// RFC 3339 UTC.
    public static func format(_ date: Date) -> String { date.rfc3339 }
}
