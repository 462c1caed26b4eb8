/// Exponential backoff for failed daemon runs: `initial`, doubling, capped at `maximum` — the shared
/// ``Backoff`` schedule without jitter.
public typealias RetryBackoff = Backoff
