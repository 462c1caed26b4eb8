import Foundation

/// The state of a materialized generation.
public enum GenerationState: String, Sendable, Codable {
    /// Being built; not yet complete (a crash leaves these for `fsck --repair`).
    case building
    /// What `models_dir` points at.
    case active
    /// Complete and kept for rollback.
    case retained
    /// Failed its health check; its directory is removed.
    case failed
}

/// One generation as the index records it.
public struct GenerationRecord: Sendable, Equatable {
    public var number: Int
    public var manifest: Digest
    public var state: GenerationState
    public var createdAt: Date
    public var activatedAt: Date?

    public init(number: Int, manifest: Digest, state: GenerationState, createdAt: Date = Date(), activatedAt: Date? = nil) {
        self.number = number
        self.manifest = manifest
        self.state = state
        self.createdAt = createdAt
        self.activatedAt = activatedAt
    }
}
