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

    /// Where the daemon keeps its state between runs.
    public struct StateAccess: Sendable {
        public var load: @Sendable () -> DaemonState
        public var save: @Sendable (DaemonState) -> Void
        public init(load: @escaping @Sendable () -> DaemonState, save: @escaping @Sendable (DaemonState) -> Void) {
            self.load = load
            self.save = save
        }
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

    /// The loop. `sleep(seconds)` returns false when it was interrupted by a stop request.
    public func run(runNow: Bool, state access: StateAccess, clock: @Sendable () -> Date,
                    sleep: @Sendable (Double) -> Bool, shouldStop: @Sendable () -> Bool,
                    events: @Sendable (DaemonEvent) -> Void,
                    job: () throws -> DaemonRunOutcome) {
        var state = access.load()
        var metrics = DaemonMetrics()
        metrics.lastRun = state.lastRun
        metrics.lastSuccess = state.lastSuccess
        var failures = 0
        var next = firstRun(state: state, now: clock(), runNow: runNow)
        events(DaemonEvent(time: clock(), level: .info, role: role, event: "started", fields: [
            ("schedule", schedule.time.description), ("timezone", schedule.timeZone.identifier),
            ("next_run", DaemonEvent.format(next)),
            ("last_success", state.lastSuccess.map(DaemonEvent.format) ?? "never"),
        ]))
        while !shouldStop() {
            let wait = next.timeIntervalSince(clock())
            if wait > 0 {
                if !sleep(wait) { break }
                if clock() < next { continue }
            }
            if shouldStop() { break }
            let started = clock()
            events(DaemonEvent(time: started, level: .info, role: role, event: "run-started"))
            state.lastRun = started
            metrics.lastRun = started
            do {
                let outcome = try job()
                let seconds = clock().timeIntervalSince(started)
                metrics.runs[outcome.result, default: 0] += 1
                metrics.fetchedBytes += outcome.fetchedBytes
                metrics.fetchedObjects += outcome.fetchedObjects
                if outcome.result == "rolled-back" { metrics.rollbacks += 1 }
                if let generation = outcome.generation { metrics.activeGeneration = generation }
                metrics.lastDuration = seconds
                metrics.durationSum += seconds
                metrics.durationCount += 1
                state.lastResult = outcome.result
                if outcome.succeeded {
                    failures = 0
                    state.lastSuccess = clock()
                    state.lastError = nil
                    metrics.lastSuccess = state.lastSuccess
                } else {
                    failures += 1
                    state.lastError = "result \(outcome.result)"
                }
                next = nextRun(after: clock(), failures: failures)
                var fields: [(String, String)] = [("result", outcome.result)]
                if let generation = outcome.generation { fields.append(("generation", String(generation))) }
                if let manifest = outcome.manifest { fields.append(("manifest", manifest.description)) }
                if let files = outcome.files { fields.append(("files", String(files))) }
                if let bytes = outcome.bytes { fields.append(("bytes", String(bytes))) }
                fields += [("fetched_objects", String(outcome.fetchedObjects)), ("fetched_bytes", String(outcome.fetchedBytes)),
                           ("seconds", String(format: "%.3f", seconds)), ("next_run", DaemonEvent.format(next))]
                events(DaemonEvent(time: clock(), level: outcome.succeeded ? .info : .warning, role: role,
                                   event: "run-finished", fields: fields))
            } catch {
                let failure = modelSyncError(from: error)
                let seconds = clock().timeIntervalSince(started)
                failures += 1
                metrics.runs["failed", default: 0] += 1
                metrics.lastDuration = seconds
                metrics.durationSum += seconds
                metrics.durationCount += 1
                state.lastResult = "failed"
                state.lastError = failure.message
                next = nextRun(after: clock(), failures: failures)
                events(DaemonEvent(time: clock(), level: .error, role: role, event: "run-failed", fields: [
                    ("error", failure.message), ("hint", failure.hint ?? ""), ("exit_code", String(failure.category.exitCode)),
                    ("attempt", String(failures)), ("seconds", String(format: "%.3f", seconds)),
                    ("next_run", DaemonEvent.format(next)),
                ]))
            }
            access.save(state)
            if let metricsFile {
                do {
                    try metrics.write(to: metricsFile, role: role)
                } catch {
                    events(DaemonEvent(time: clock(), level: .warning, role: role, event: "metrics-failed",
                                       fields: [("error", modelSyncError(from: error).message)]))
                }
            }
        }
        events(DaemonEvent(time: clock(), level: .info, role: role, event: "stopped"))
    }
}

extension DaemonEvent {
    /// RFC 3339 UTC.
    public static func format(_ date: Date) -> String { date.rfc3339 }
}
