/// Exponential backoff for failed daemon runs: `initial`, doubling, capped at `maximum`.
public struct RetryBackoff: Sendable, Equatable {
    public let initial: Double
    public let maximum: Double

    public init(initial: Double, maximum: Double) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before retry number `attempt` (1 for the first retry).
    public func delay(attempt: Int) -> Double {
        guard attempt > 0 else { return 0 }
        var delay = initial
        for _ in 1..<attempt {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
