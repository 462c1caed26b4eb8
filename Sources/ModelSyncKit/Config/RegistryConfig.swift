/// `model_sync.registry`: what the git registry keeps.
public struct RegistryConfig: Sendable, Hashable {
    /// `keep_manifests` [10]: how many recent manifests (and their blobs) the registry keeps.
    public var keepManifests: Int = 10

    /// The defaults.
    public init() {}
}
