import Foundation

/// Runs a role's job every day at its schedule until asked to stop.
///
/// - At start it runs at once with `runNow`, or when the last success is older than the latest scheduled
///   slot (the machine was down), or when the role has never succeeded.
/// - A failed run is retried with exponential backoff until the next slot.
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
        self.init(role: role, schedule: DailySchedule(time: role.scheduleTime(in: config), timeZone: zone),
                  jitter: config.daemon.jitterSec,
                  backoff: RetryBackoff(initial: config.daemon.retryInitialSec, maximum: config.daemon.retryMaxSec),
                  metricsFile: config.daemon.metricsFile)
    }

    /// True when a run is due at start.
    public func needsCatchUp(_ state: DaemonState, now: Date) -> Bool {
        guard let lastSuccess = state.lastSuccess else { return true }
        return lastSuccess < schedule.latest(atOrBefore: now)
    }

    /// When the first run happens.
    public func firstRun(state: DaemonState, now: Date, runNow: Bool) -> Date {
        runNow || needsCatchUp(state, now: now) ? now : slotWithJitter(after: now)
    }

    /// When the next run happens after a run that ended at `now`, successful or not (`failures` in a row).
    public func nextRun(after now: Date, failures: Int) -> Date {
        let slot = slotWithJitter(after: now)
        guard failures > 0 else { return slot }
        let retry = now.addingTimeInterval(backoff.delay(attempt: failures))
        return min(retry, slot)
    }

    private func slotWithJitter(after date: Date) -> Date {
        schedule.next(after: date).addingTimeInterval(jitter > 0 ? Double.random(in: 0...jitter) : 0)
    }

    /// What the loop carries from one run to the next.
    private struct LoopState {
        var state: DaemonState
        var metrics = DaemonMetrics()
        /// Failed runs in a row (0 after a success).
        var failures = 0
        /// When the next run is due.
        var next: Date

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

    /// The loop. `sleep(seconds)` returns false when it was interrupted by a stop request.
    public func run(runNow: Bool, state access: StateAccess, clock: @Sendable () -> Date,
                    sleep: @Sendable (Double) -> Bool, shouldStop: @Sendable () -> Bool,
                    events: @Sendable (DaemonEvent) -> Void,
                    job: () throws -> DaemonRunOutcome) {
        let state = access.load()
        var loop = LoopState(state: state, next: firstRun(state: state, now: clock(), runNow: runNow))
        events(startedEvent(loop, now: clock()))
        running: while !shouldStop() {
            switch wait(until: loop.next, clock: clock, sleep: sleep) {
            case .stopped: break running
            case .early: continue running
            case .due:
                if shouldStop() { break running }
                runOnce(&loop, clock: clock, events: events, job: job)
                access.save(loop.state)
                writeMetrics(loop.metrics, clock: clock, events: events)
            }
        }
        events(DaemonEvent(time: clock(), level: .info, role: role, event: "stopped"))
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
    private func runOnce(_ loop: inout LoopState, clock: @Sendable () -> Date, events: @Sendable (DaemonEvent) -> Void,
                         job: () throws -> DaemonRunOutcome) {
        let started = clock()
        events(DaemonEvent(time: started, level: .info, role: role, event: "run-started"))
        loop.state.lastRun = started
        loop.metrics.lastRun = started
        do {
            let outcome = try job()
            events(record(outcome, startedAt: started, in: &loop, clock: clock))
        } catch {
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
            loop.failures = 0
            loop.state.lastSuccess = clock()
            loop.state.lastError = nil
            loop.metrics.lastSuccess = loop.state.lastSuccess
        } else {
            loop.failures += 1
            loop.state.lastError = "result \(outcome.result)"
        }
        loop.next = nextRun(after: clock(), failures: loop.failures)
        var fields: [(String, String)] = [("result", outcome.result)]
        if let generation = outcome.generation { fields.append(("generation", String(generation))) }
        if let manifest = outcome.manifest { fields.append(("manifest", manifest.description)) }
        if let files = outcome.files { fields.append(("files", String(files))) }
        if let bytes = outcome.bytes { fields.append(("bytes", String(bytes))) }
        fields += [("fetched_objects", String(outcome.fetchedObjects)), ("fetched_bytes", String(outcome.fetchedBytes)),
                   ("seconds", String(format: "%.3f", seconds)), ("next_run", DaemonEvent.format(loop.next))]
        return DaemonEvent(time: clock(), level: outcome.succeeded ? .info : .warning, role: role,
                           event: "run-finished", fields: fields)
    }

    /// Books a run that threw; the `run-failed` event with the error, its hint and the exit code it would have had.
    private func recordFailure(_ error: any Error, startedAt started: Date, in loop: inout LoopState,
                               clock: @Sendable () -> Date) -> DaemonEvent {
        let failure = modelSyncError(from: error)
        let seconds = clock().timeIntervalSince(started)
        loop.failures += 1
        loop.metrics.recordFailure(seconds: seconds)
        loop.state.lastResult = "failed"
        // Kept in the index and shown by later commands: scrubbed now, like every log line.
        loop.state.lastError = SecretScrubber.shared.scrub(failure.message)
        loop.next = nextRun(after: clock(), failures: loop.failures)
        return DaemonEvent(time: clock(), level: .error, role: role, event: "run-failed", fields: [
            ("error", failure.message), ("hint", failure.hint ?? ""), ("exit_code", String(failure.category.exitCode)),
            ("attempt", String(loop.failures)), ("seconds", String(format: "%.3f", seconds)),
            ("next_run", DaemonEvent.format(loop.next)),
        ])
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
