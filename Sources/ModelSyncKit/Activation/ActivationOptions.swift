/// What an activation needs to know from the configuration.
public struct ActivationOptions: Sendable {
    public var linkMode: LinkMode
    /// How many generations to keep (the active one and the rollback target are always kept).
    public var keepGenerations: Int
    /// `activation.health_check`: `{models_dir}`, `{generation}` and `{manifest}` become quoted variable references.
    public var healthCheck: String?
    public var healthTimeout: Double
    /// `activation.on_activate`.
    public var onActivate: String?
    /// Activate even a manifest remembered as bad, or the one already active.
    public var force: Bool
    /// The secrets the health check and `on_activate` may get, and where their output goes.
    public var commands: CommandSettings

    public init(linkMode: LinkMode = .auto, keepGenerations: Int = 3, healthCheck: String? = nil,
                healthTimeout: Double = 120, onActivate: String? = nil, force: Bool = false,
                commands: CommandSettings = CommandSettings()) {
        self.commands = commands
        self.linkMode = linkMode
        self.keepGenerations = keepGenerations
        self.healthCheck = healthCheck
        self.healthTimeout = healthTimeout
        self.onActivate = onActivate
        self.force = force
    }
}

/// The outcome of `activate`, `pull` or `runpod-pull` (their `--json` fields).
public struct ActivationResult: Sendable, Equatable {
    /// `activated`, `up-to-date` or `rolled-back`.
    public enum Outcome: String, Sendable {
        case activated
        case upToDate = "up-to-date"
        case rolledBack = "rolled-back"
        /// A pull left the active set alone: the channel's manifest is held (rolled back by the user, or it
        /// failed its health check) until another one is published or `--force` is given.
        case heldBack = "held-back"
    }

    public var result: Outcome
    /// The generation now active (after a rollback: the restored one; nil if none).
    public var generation: Int?
    /// The manifest that was asked for.
    public var manifest: Digest
    /// The generation that was replaced, if any.
    public var previousGeneration: Int?
    /// Why the set was rolled back (health check output summary).
    public var reason: String?
    /// Generations removed by retention.
    public var removedGenerations: [Int] = []
    /// Set when `on_activate` failed (the activation stands; the CLI exits 8).
    public var onActivateFailure: CommandFailedError?
    /// Blobs fetched by a transport to make this activation possible (filled in by pull commands).
    public var fetchedObjects = 0
    public var fetchedBytes: UInt64 = 0

    public static func == (lhs: ActivationResult, rhs: ActivationResult) -> Bool {
        lhs.result == rhs.result && lhs.generation == rhs.generation && lhs.manifest == rhs.manifest
    }
}
