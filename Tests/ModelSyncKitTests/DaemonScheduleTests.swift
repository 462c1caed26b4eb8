import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

private func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

@Suite("daily schedules, catch-up and backoff")
struct DaemonScheduleTests {
    struct Case: Sendable, CustomStringConvertible {
        let zone: String
        let time: String
        let after: String
        let expected: String
        var description: String { "\(time) \(zone) after \(after)" }
    }

    static let nextCases: [Case] = [
        // Plain days, UTC.
        Case(zone: "UTC", time: "06:00", after: "2026-05-10T05:59:59Z", expected: "2026-05-10T06:00:00Z"),
        Case(zone: "UTC", time: "06:00", after: "2026-05-10T06:00:00Z", expected: "2026-05-11T06:00:00Z"),
        // Midnight: the slot at the very start of the next day.
        Case(zone: "UTC", time: "00:00", after: "2026-12-31T23:59:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(zone: "Europe/Paris", time: "00:00", after: "2026-07-01T21:00:00Z", expected: "2026-07-01T22:00:00Z"),
        // Paris springs forward on 2026-03-29 at 02:00 → 03:00: 02:30 does not exist that day, run at 03:00 CEST.
        Case(zone: "Europe/Paris", time: "02:30", after: "2026-03-28T12:00:00Z", expected: "2026-03-29T01:00:00Z"),
        // 03:00 exists on both sides of the change; the day after uses CEST.
        Case(zone: "Europe/Paris", time: "03:00", after: "2026-03-28T03:00:00Z", expected: "2026-03-29T01:00:00Z"),
        Case(zone: "Europe/Paris", time: "03:00", after: "2026-03-29T01:00:00Z", expected: "2026-03-30T01:00:00Z"),
        // Paris falls back on 2026-10-25 at 03:00 → 02:00: 02:30 happens twice; run once, at the first.
        Case(zone: "Europe/Paris", time: "02:30", after: "2026-10-24T12:00:00Z", expected: "2026-10-25T00:30:00Z"),
        Case(zone: "Europe/Paris", time: "02:30", after: "2026-10-25T00:30:00Z", expected: "2026-10-26T01:30:00Z"),
        // New York: spring forward 2026-03-08 02:00 → 03:00; fall back 2026-11-01 02:00 → 01:00.
        Case(zone: "America/New_York", time: "02:15", after: "2026-03-08T00:00:00Z", expected: "2026-03-08T07:00:00Z"),
        Case(zone: "America/New_York", time: "06:00", after: "2026-03-07T12:00:00Z", expected: "2026-03-08T10:00:00Z"),
        Case(zone: "America/New_York", time: "01:30", after: "2026-11-01T00:00:00Z", expected: "2026-11-01T05:30:00Z"),
        Case(zone: "America/New_York", time: "06:00", after: "2026-11-01T00:00:00Z", expected: "2026-11-01T11:00:00Z"),
        // Far east of UTC: the local day starts the evening before in UTC.
        Case(zone: "Asia/Tokyo", time: "06:00", after: "2026-05-10T20:00:00Z", expected: "2026-05-10T21:00:00Z"),
    ]

    @Test("the next slot after an instant", arguments: nextCases)
    func nextSlot(_ example: Case) throws {
        let schedule = DailySchedule(time: try #require(DailyTime(parsing: example.time)),
                                     timeZone: try #require(TimeZone(identifier: example.zone)))
        #expect(DaemonEvent.format(schedule.next(after: instant(example.after))) == example.expected)
    }

    @Test("the latest slot at or before an instant")
    func latestSlot() throws {
        let schedule = DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!)
        #expect(schedule.latest(atOrBefore: instant("2026-05-10T06:00:00Z")) == instant("2026-05-10T06:00:00Z"))
        #expect(schedule.latest(atOrBefore: instant("2026-05-10T05:00:00Z")) == instant("2026-05-09T06:00:00Z"))
    }

    @Test("a daemon with no history waits for its slot; a slot missed since the last run is caught up once")
    func catchUp() {
        let daemon = Daemon(role: .client, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 0, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: nil)
        let now = instant("2026-05-10T09:00:00Z")
        // Never ran: the next slot, not now (a new publisher does not train, a RunPod client starts no paid job).
        #expect(daemon.firstRun(state: DaemonState(), now: now, runNow: false) == instant("2026-05-11T06:00:00Z"))
        #expect(daemon.firstRun(state: DaemonState(), now: now, runNow: true) == now)
        // Last run before today's slot: that slot was missed while down, run once now.
        let yesterday = DaemonState(lastRun: instant("2026-05-09T06:00:05Z"), lastSuccess: instant("2026-05-09T06:00:05Z"))
        #expect(daemon.missedSlot(yesterday, now: now))
        #expect(daemon.firstRun(state: yesterday, now: now, runNow: false) == now)
        // Ran after today's slot: nothing missed, whether it succeeded or not.
        let today = DaemonState(lastRun: instant("2026-05-10T06:00:05Z"), lastSuccess: instant("2026-05-10T06:00:05Z"))
        #expect(!daemon.missedSlot(today, now: now))
        #expect(daemon.firstRun(state: today, now: now, runNow: false) == instant("2026-05-11T06:00:00Z"))
        #expect(daemon.firstRun(state: today, now: now, runNow: true) == now)
        // Stopped while retrying a failure (3rd attempt due 4 min after the last run): the retry resumes.
        let retrying = DaemonState(lastRun: instant("2026-05-10T08:58:00Z"), lastResult: "failed", failures: 3)
        #expect(daemon.firstRun(state: retrying, now: now, runNow: false) == instant("2026-05-10T09:02:00Z"))
        let overdue = DaemonState(lastRun: instant("2026-05-10T07:00:00Z"), lastResult: "failed", failures: 1)
        #expect(daemon.firstRun(state: overdue, now: now, runNow: false) == now)
    }

    @Test("the failure count survives a restart in the stored state; an old state without it reads as 0")
    func storedFailures() throws {
        let state = DaemonState(lastRun: instant("2026-05-10T08:58:00Z"), lastResult: "failed", lastError: "x", failures: 3)
        #expect(DaemonState(decoding: try state.encoded()) == state)
        #expect(DaemonState(decoding: #"{"last_run": 1778403480, "last_result": "failed"}"#).failures == 0)
    }

    @Test("only usage errors stop a daemon, and not those another machine fixes in time")
    func healing() {
        #expect(Daemon.healsByWaiting(TestRemoteError()))
        #expect(!Daemon.healsByWaiting(UsageError("model_sync.repo_dir is not set")))
        #expect(!Daemon.healsByWaiting(ConfigError(.missingValue, file: "bot.yaml", key: "model_sync.x", reason: "missing")))
        #expect(Daemon.healsByWaiting(UsageError("nothing was published", healsByWaiting: true)))
    }

    @Test("backoff doubles from retry_initial_sec to retry_max_sec and never passes the next slot")
    func backoff() {
        let backoff = RetryBackoff(initial: 60, maximum: 3600)
        #expect((1...8).map { backoff.delay(attempt: $0) } == [60, 120, 240, 480, 960, 1920, 3600, 3600])
        let daemon = Daemon(role: .client, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 0, backoff: backoff, metricsFile: nil)
        #expect(daemon.nextRun(after: instant("2026-05-10T06:00:00Z"), failures: 1) == instant("2026-05-10T06:01:00Z"))
        // An hour's backoff 30 minutes before the next slot is cut at the slot.
        #expect(daemon.nextRun(after: instant("2026-05-11T05:30:00Z"), failures: 7) == instant("2026-05-11T06:00:00Z"))
        #expect(daemon.nextRun(after: instant("2026-05-10T06:00:30Z"), failures: 0) == instant("2026-05-11T06:00:00Z"))
    }

    @Test("jitter delays a slot by at most jitter_sec")
    func jitter() {
        let daemon = Daemon(role: .client, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 300, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: nil)
        for _ in 0..<50 {
            let next = daemon.nextRun(after: instant("2026-05-10T07:00:00Z"), failures: 0)
            #expect(next >= instant("2026-05-11T06:00:00Z") && next <= instant("2026-05-11T06:05:00Z"))
        }
    }
}

/// A failure retrying can fix, as a network error is.
struct TestRemoteError: ModelSyncError {
    var message = "registry unreachable"
    var hint: String? { nil }
    var category: ErrorCategory { .remote }
}

/// A clock the test advances; `sleep` jumps it forward.
final class FakeClock: Sendable {
    let now: Mutex<Date>
    init(_ start: Date) { now = Mutex(start) }
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("the daemon loop")
struct DaemonLoopTests {
    @Test("runs at start when asked, retries failures with backoff, then runs daily; state and metrics follow")
    func loop() throws {
        let directory = TemporaryDirectory()
        let clock = FakeClock(instant("2026-05-10T09:00:00Z"))
        let daemon = Daemon(role: .client, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 0, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: directory.path + "/m/model_sync.prom")
        let saved = Mutex<DaemonState>(DaemonState())
        let runTimes = Mutex<[Date]>([])
        let logged = Mutex<[String]>([])
        let results: [Result<DaemonRunOutcome, TestRemoteError>] = [
            .failure(TestRemoteError()),
            .failure(TestRemoteError()),
            .success(DaemonRunOutcome(result: "activated", generation: 4, fetchedObjects: 2, fetchedBytes: 2048)),
            .success(DaemonRunOutcome(result: "up-to-date", generation: 4)),
        ]
        let calls = Mutex(0)
        daemon.run(runNow: true,
                   state: .init(load: { DaemonState() }, save: { state in saved.withLock { $0 = state } }),
                   clock: { clock.read() },
                   sleep: { seconds in clock.advance(seconds); return true },
                   shouldStop: { calls.withLock { $0 } >= results.count },
                   events: { event in logged.withLock { $0.append(event.event) } },
                   job: { _ in
                       let call = calls.withLock { value -> Int in value += 1; return value - 1 }
                       runTimes.withLock { $0.append(clock.read()) }
                       clock.advance(1)
                       return try results[call].get()
                   })
        let times = runTimes.withLock { $0 }.map(DaemonEvent.format)
        #expect(times == ["2026-05-10T09:00:00Z", "2026-05-10T09:01:01Z", "2026-05-10T09:03:02Z", "2026-05-11T06:00:00Z"])
        let state = saved.withLock { $0 }
        #expect(state.lastResult == "up-to-date")
        #expect(state.lastError == nil)
        #expect(state.lastSuccess.map(DaemonEvent.format) == "2026-05-11T06:00:01Z")
        #expect(logged.withLock { $0 } == ["started", "run-started", "run-failed", "run-started", "run-failed", "run-started",
                                           "run-finished", "run-started", "run-finished", "stopped"])

        // The metrics file parses as Prometheus text and carries the figures.
        let text = try String(contentsOfFile: directory.path + "/m/model_sync.prom", encoding: .utf8)
        var samples: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2, "not a sample line: \(line)")
            #expect(Double(parts[1]) != nil, "not a number: \(line)")
            samples[String(parts[0])] = String(parts[1])
        }
        #expect(samples["model_sync_runs_total{role=\"client\",result=\"failed\"}"] == "2")
        #expect(samples["model_sync_runs_total{role=\"client\",result=\"activated\"}"] == "1")
        #expect(samples["model_sync_active_generation{role=\"client\"}"] == "4")
        #expect(samples["model_sync_fetched_bytes_total{role=\"client\"}"] == "2048")
        #expect(samples["model_sync_last_success_timestamp_seconds{role=\"client\"}"]
                == String(Int(instant("2026-05-11T06:00:01Z").timeIntervalSince1970)))
        #expect(samples["model_sync_run_duration_seconds_count{role=\"client\"}"] == "4")
        #expect(text.contains("# TYPE model_sync_runs_total counter"))
    }

    @Test("a stop request while waiting ends the loop without running the job")
    func stopWhileWaiting() {
        let clock = FakeClock(instant("2026-05-10T09:00:00Z"))
        let daemon = Daemon(role: .publisher, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 0, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: nil)
        let ran = Mutex(false)
        daemon.run(runNow: false,
                   state: .init(load: { DaemonState(lastSuccess: instant("2026-05-10T06:00:10Z")) }, save: { _ in }),
                   clock: { clock.read() }, sleep: { _ in false }, shouldStop: { false }, events: { _ in },
                   job: { _ in ran.withLock { $0 = true }; return DaemonRunOutcome(result: "published") })
        #expect(!ran.withLock { $0 })
    }

    @Test("an error retrying cannot fix stops the loop after one run, with its exit code in the log and metrics")
    func fatalStops() throws {
        let directory = TemporaryDirectory()
        let clock = FakeClock(instant("2026-05-10T09:00:00Z"))
        let daemon = Daemon(role: .runpodClient, schedule: DailySchedule(time: DailyTime(parsing: "06:00")!, timeZone: TimeZone(identifier: "UTC")!),
                            jitter: 0, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: directory.path + "/m.prom")
        let calls = Mutex(0)
        let logged = Mutex<[DaemonEvent]>([])
        let exit = daemon.run(runNow: true, state: .init(load: { DaemonState() }, save: { _ in }),
                              clock: { clock.read() }, sleep: { seconds in clock.advance(seconds); return true },
                              shouldStop: { calls.withLock { $0 } > 5 },
                              events: { event in logged.withLock { $0.append(event) } },
                              job: { _ in
                                  calls.withLock { $0 += 1 }
                                  throw UsageError("the RunPod API key is missing: RUNPOD_API_KEY is not set")
                              })
        #expect(calls.withLock { $0 } == 1)
        guard case .failed(let failure) = exit else {
            Issue.record("the loop did not report the fatal error")
            return
        }
        #expect(failure.category.exitCode == 2)
        let events = logged.withLock { $0 }
        #expect(events.map(\.event) == ["started", "run-started", "run-failed", "stopped"])
        #expect(events.last?.level == .error)
        #expect(try String(contentsOfFile: directory.path + "/m.prom", encoding: .utf8)
            .contains("model_sync_stopped_on_error{role=\"runpod_client\"} 2"))
    }

    @Test("a reload takes the new schedule before the next wait; a failed reload keeps the old one and says so")
    func reload() {
        let clock = FakeClock(instant("2026-05-10T09:00:00Z"))
        @Sendable func daemon(_ time: String) -> Daemon {
            Daemon(role: .client, schedule: DailySchedule(time: DailyTime(parsing: time)!, timeZone: TimeZone(identifier: "UTC")!),
                   jitter: 0, backoff: RetryBackoff(initial: 60, maximum: 3600), metricsFile: nil)
        }
        // Requests: the first wait's reload fails (invalid file), the second succeeds with 10:00.
        let requests = Mutex([true, true])
        let loads = Mutex(0)
        let runs = Mutex<[Date]>([])
        let logged = Mutex<[String]>([])
        let job: DaemonReload.Job = { _ in runs.withLock { $0.append(clock.read()) }; return DaemonRunOutcome(result: "up-to-date") }
        let reload = DaemonReload(
            requested: { requests.withLock { $0.isEmpty ? false : $0.removeFirst() } },
            load: {
                let attempt = loads.withLock { value -> Int in value += 1; return value }
                if attempt == 1 { throw ConfigError(.invalidYAML, file: "bot.yaml", reason: "bad indentation") }
                return (daemon("10:00"), job)
            })
        // Sleeps of at most 30 minutes, as if a SIGHUP woke the daemon every half hour.
        daemon("06:00").run(runNow: false, state: .init(load: { DaemonState() }, save: { _ in }),
                            clock: { clock.read() }, sleep: { seconds in clock.advance(min(seconds, 1800)); return true },
                            shouldStop: { runs.withLock { $0.count } >= 1 },
                            events: { event in logged.withLock { $0.append(event.event + ":" + (event.fields.first { $0.0 == "schedule" }?.1 ?? "")) } },
                            reload: reload, job: job)
        // Without the reload it would have run at 06:00 the next day.
        #expect(runs.withLock { $0 } == [instant("2026-05-10T10:00:00Z")])
        #expect(logged.withLock { $0 }.prefix(3) == ["started:06:00", "reload-failed:", "reloaded:10:00"])
    }
}

@Suite("the RunPod job ledger")
struct RunPodJobLedgerTests {
    @Test("it survives its stored form, times included")
    func roundTrip() throws {
        var ledger = RunPodJobLedger()
        ledger.submitted("abc-1", at: instant("2026-05-10T09:00:00Z"))
        ledger.lastFailure = instant("2026-05-10T08:00:00Z")
        #expect(try JSONCoding.decode(RunPodJobLedger.self, from: Array(JSONCoding.encode(ledger).utf8)) == ledger)
    }

    @Test("the daily cap counts the triggers of the last 24 hours only; a failure blocks until retry_min_sec has passed")
    func refusal() {
        let now = instant("2026-05-10T09:00:00Z")
        var ledger = RunPodJobLedger(triggers: [instant("2026-05-09T08:59:59Z"), instant("2026-05-09T10:00:00Z"),
                                                instant("2026-05-10T08:00:00Z")])
        #expect(ledger.refusal(now: now, maxPerDay: 3, retryMin: 0) == nil)
        #expect(ledger.refusal(now: now, maxPerDay: 2, retryMin: 0)?.code == .throttled)
        ledger.finished(failed: true, at: instant("2026-05-10T08:50:00Z"))
        #expect(ledger.refusal(now: now, maxPerDay: 3, retryMin: 900)?.message.contains("2026-05-10T09:05:00Z") == true)
        #expect(ledger.refusal(now: now, maxPerDay: 3, retryMin: 600) == nil)
    }
}
