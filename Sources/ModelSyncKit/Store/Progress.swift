/// Progress of long work, reported through a callback: the library never draws anything itself.
public struct Progress: Sendable, Equatable {
    /// What is being done (`"hashing"`, `"verifying"`, `"downloading"`...).
    public var phase: String
    /// Units done so far (bytes unless `unit` says otherwise).
    public var completed: UInt64
    /// Units in all, when known.
    public var total: UInt64?
    public var unit: String

    public init(phase: String, completed: UInt64, total: UInt64?, unit: String = "bytes") {
        self.phase = phase
        self.completed = completed
        self.total = total
        self.unit = unit
    }
}

/// Receives progress from any thread.
public typealias ProgressHandler = @Sendable (Progress) -> Void
