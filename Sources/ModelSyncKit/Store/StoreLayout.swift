/// Where a store keeps each part of itself (DESIGN.md "On disk").
public struct StoreLayout: Sendable, Equatable {
    /// The store directory (`.model-sync` beside `models_dir` by default).
    public let root: String

    public init(root: String) { self.root = root }

    public var objects: String { root + "/objects" }
    public var generations: String { root + "/generations" }
    public var tmp: String { root + "/tmp" }
    public var quarantine: String { root + "/quarantine" }
    public var indexPath: String { root + "/index.sqlite" }
    public var lockPath: String { root + "/lock" }
    /// A health check in progress (see `PendingCheck`): present only between the swap and the check's end.
    public var checkPendingPath: String { root + "/check-pending" }

    /// `objects/sha256/ab/ab12…`.
    public func objectPath(_ digest: Digest) -> String { objects + "/" + digest.objectRelativePath }

    /// `generations/<n>`.
    public func generationPath(_ number: Int) -> String { generations + "/\(number)" }

    /// `generations/<n>.manifest`: the generation's manifest digest, so the index can be rebuilt from disk.
    public func generationManifestPath(_ number: Int) -> String { generations + "/\(number).manifest" }
}
