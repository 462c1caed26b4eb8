/// What to do after a failed attempt.
enum RetryDecision: Sendable, Equatable {
    /// Try again after the backoff delay, or after `retryAfter` seconds when the server asked for that
    /// (capped at ``Retry/maxRetryAfter``).
    case retry(retryAfter: Double?)
    /// Try again without waiting (a download that must start over from zero).
    case retryAtOnce
    /// Give up: the failure is final.
    case fail
}

/// What one attempt produced: a value, or a failure and whether it is worth another attempt.
enum AttemptOutcome<Value, Failure: Error> {
    /// The attempt succeeded.
    case success(Value)
    /// The attempt failed; the error is thrown if no attempt follows.
    case failure(Failure, RetryDecision)
}

/// The project's one retry loop: runs an attempt until it succeeds, its failure is final, or `maxAttempts`
/// have been made, sleeping the ``Backoff`` delay (or the server's `Retry-After`) in between.
///
/// The sleep is injected so that tests record the delays instead of waiting them.
///
/// ```swift
/// let value = try Retry(maxAttempts: 5, backoff: Backoff(initial: 1, maximum: 30, jitter: .upperHalf),
///                       maxRetryAfter: 120, sleep: HTTPClient.threadSleep).run { attempt in
///     do { return .success(try fetch()) } catch { return .failure(error, .retry(retryAfter: nil)) }
/// }
/// ```
struct Retry: Sendable {
    /// Attempts allowed in all, the first included.
    var maxAttempts: Int
    /// The delays between attempts.
    var backoff: Backoff
    /// The longest `Retry-After` honoured, in seconds; longer values are cut to it.
    var maxRetryAfter: Double
    /// Waits between attempts, in seconds.
    var sleep: @Sendable (Double) -> Void

    /// The wait before the attempt after `attempt`: the server's Retry-After when it gave one (capped),
    /// otherwise the backoff's delay.
    func delay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
        if let retryAfter { return min(retryAfter, maxRetryAfter) }
        return backoff.delay(attempt: attempt)
    }

    /// Runs `attempt` (given its number, from 1) until it succeeds; throws the last failure once it is final
    /// or the attempts have run out. An error `attempt` throws itself ends the loop at once.
    func run<Value, Failure: Error>(
        _ attempt: (Int) throws(Failure) -> AttemptOutcome<Value, Failure>
    ) throws(Failure) -> Value {
        var number = 0
        while true {
            number += 1
            switch try attempt(number) {
            case .success(let value):
                return value
            case .failure(let error, let decision):
                switch decision {
                case .fail:
                    throw error
                case _ where number >= maxAttempts:
                    throw error
                case .retryAtOnce:
                    continue
                case .retry(let retryAfter):
                    sleep(delay(afterAttempt: number, retryAfter: retryAfter))
                }
            }
        }
    }
}
