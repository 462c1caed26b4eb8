/// The project's one retry delay schedule: `initial`, doubling with each attempt, capped at `maximum`,
/// optionally jittered.
///
/// The daemon waits out failed runs with it (as ``RetryBackoff``), and ``Retry`` spaces the attempts of
/// HTTP requests, downloads and RunPod triggers with it.
///
/// ```swift
/// let backoff = Backoff(initial: 60, maximum: 3600)
/// backoff.delay(attempt: 3)  // 240
/// ```
public struct Backoff: Sendable, Equatable {
    /// How a delay is spread so that many clients failing at once do not retry in step.
    public enum Jitter: Sendable, Equatable {
        /// The delay exactly.
        case none
        /// A uniformly random delay between half the delay and the whole of it.
        case upperHalf
    }

    /// The delay before the first retry, in seconds.
    public let initial: Double
    /// The longest delay, in seconds (never below `initial`).
    public let maximum: Double
    /// How each delay is jittered.
    public let jitter: Jitter

    /// A schedule; a `maximum` below `initial` is raised to it.
    public init(initial: Double, maximum: Double, jitter: Jitter = .none) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (1 for the first retry); 0 for `attempt` below 1.
    public func delay(attempt: Int) -> Double {
        guard attempt > 0 else { return 0 }
        // Doubling step by step (not initial * 2^n) stops at the cap and never overflows to infinity.
        var delay = initial
        for _ in 1..<attempt {
            if delay >= maximum { break }
            delay *= 2
        }
        let capped = min(delay, maximum)
        switch jitter {
        case .none:
            return capped
        case .upperHalf:
            guard capped > 0 else { return 0 }
            return capped / 2 + Double.random(in: 0...(capped / 2))
        }
    }
}
