import Testing
@testable import ModelSyncKit

@Suite("Backoff and Retry: the one delay schedule and retry loop")
struct RetryTests {
    struct Failure: Error, Equatable { let attempt: Int }

    func retry(_ sleeps: HTTPSleepRecorder, maxAttempts: Int = 4, jitter: Backoff.Jitter = .none) -> Retry {
        Retry(maxAttempts: maxAttempts, backoff: Backoff(initial: 2, maximum: 10, jitter: jitter),
              maxRetryAfter: 30, sleep: sleeps.sleep)
    }

    @Test("the delay doubles from initial and stops at maximum; attempt 0 waits nothing")
    func schedule() {
        let backoff = Backoff(initial: 60, maximum: 3600)
        #expect((0...8).map { backoff.delay(attempt: $0) } == [0, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        #expect(backoff.delay(attempt: 10_000) == 3600)
        #expect(Backoff(initial: 5, maximum: 1).maximum == 5)
        #expect(Backoff(initial: 0, maximum: 10).delay(attempt: 50) == 0)
    }

    @Test("RetryBackoff, the daemon's schedule, is the shared Backoff without jitter")
    func daemonSchedule() {
        let daemon = RetryBackoff(initial: 60, maximum: 3600)
        #expect(daemon == Backoff(initial: 60, maximum: 3600, jitter: .none))
        #expect(daemon.delay(attempt: 3) == 240)
    }

    @Test("upper-half jitter stays between half the delay and the whole of it")
    func jitter() {
        let backoff = Backoff(initial: 1, maximum: 30, jitter: .upperHalf)
        for attempt in 1...8 {
            let plain = Backoff(initial: 1, maximum: 30).delay(attempt: attempt)
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= plain / 2 && delay <= plain)
        }
    }

    @Test("failures are retried with the backoff delays until one succeeds")
    func retriesUntilSuccess() throws {
        let sleeps = HTTPSleepRecorder()
        var attempts: [Int] = []
        let value = try retry(sleeps).run { (attempt) throws(Failure) -> AttemptOutcome<String, Failure> in
            attempts.append(attempt)
            return attempt < 3 ? .failure(Failure(attempt: attempt), .retry(retryAfter: nil)) : .success("done")
        }
        #expect(value == "done")
        #expect(attempts == [1, 2, 3])
        #expect(sleeps.recorded == [2, 4])
    }

    @Test("a Retry-After replaces the backoff delay, cut to maxRetryAfter")
    func retryAfter() throws {
        let sleeps = HTTPSleepRecorder()
        _ = try retry(sleeps).run { (attempt) throws(Failure) -> AttemptOutcome<Int, Failure> in
            switch attempt {
            case 1: return .failure(Failure(attempt: 1), .retry(retryAfter: 7))
            case 2: return .failure(Failure(attempt: 2), .retry(retryAfter: 500))
            default: return .success(attempt)
            }
        }
        #expect(sleeps.recorded == [7, 30])
    }

    @Test("the last failure is thrown once maxAttempts have been made")
    func exhausted() {
        let sleeps = HTTPSleepRecorder()
        let error = #expect(throws: Failure.self) {
            try retry(sleeps, maxAttempts: 3).run { (attempt) throws(Failure) -> AttemptOutcome<Int, Failure> in
                .failure(Failure(attempt: attempt), .retry(retryAfter: nil))
            }
        }
        #expect(error == Failure(attempt: 3))
        #expect(sleeps.recorded == [2, 4])
    }

    @Test("a final failure is thrown at once, and retryAtOnce does not sleep")
    func finalAndImmediate() {
        let sleeps = HTTPSleepRecorder()
        let error = #expect(throws: Failure.self) {
            try retry(sleeps).run { (attempt) throws(Failure) -> AttemptOutcome<Int, Failure> in
                .failure(Failure(attempt: attempt), attempt == 1 ? .retryAtOnce : .fail)
            }
        }
        #expect(error == Failure(attempt: 2))
        #expect(sleeps.recorded.isEmpty)
    }

    @Test("an error the attempt throws itself ends the loop without retry")
    func thrownDirectly() {
        let sleeps = HTTPSleepRecorder()
        var calls = 0
        #expect(throws: Failure.self) {
            try retry(sleeps).run { (attempt) throws(Failure) -> AttemptOutcome<Int, Failure> in
                calls += 1
                throw Failure(attempt: attempt)
            }
        }
        #expect(calls == 1)
        #expect(sleeps.recorded.isEmpty)
    }
}
