/// Which job a daemon runs on its schedule.
public enum DaemonRole: String, Sendable, CaseIterable {
    /// `publish` at `publisher.schedule`.
    case publisher
    /// `pull` at `client.schedule`.
    case client
    /// `runpod-pull` at `runpod_client.schedule`.
    case runpodClient = "runpod_client"

    /// The role's daily time from the configuration.
    public func scheduleTime(in config: Config) -> DailyTime {
        switch self {
        case .publisher: return config.publisher.scheduleTime
        case .client: return config.client.scheduleTime
        case .runpodClient: return config.runpodClient.scheduleTime
        }
    }
}

/// What one run of a role's job did, for logs, state and metrics.
public struct DaemonRunOutcome: Sendable, Equatable {
    /// `published`, `activated`, `up-to-date`, `rolled-back`…
    public var result: String
    public var generation: Int?
    public var manifest: Digest?
    public var fetchedObjects: Int
    public var fetchedBytes: UInt64
    /// Files and bytes of the model set the run ended with, when known.
    public var files: Int?
    public var bytes: UInt64?
    /// True when the run counts as a success (a rollback after a failed health check does not).
    public var succeeded: Bool

    public init(result: String, generation: Int? = nil, manifest: Digest? = nil, fetchedObjects: Int = 0,
                fetchedBytes: UInt64 = 0, files: Int? = nil, bytes: UInt64? = nil, succeeded: Bool = true) {
        self.files = files
        self.bytes = bytes
        self.result = result
        self.generation = generation
        self.manifest = manifest
        self.fetchedObjects = fetchedObjects
        self.fetchedBytes = fetchedBytes
        self.succeeded = succeeded
    }
}
