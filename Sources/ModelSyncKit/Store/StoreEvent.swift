import Foundation

/// One entry of the store's history (`model-sync log`).
public struct StoreEvent: Sendable, Equatable {
    /// What happened. Strings, so new kinds can be added.
    public struct Kind: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let importSet = Kind(rawValue: "import")
        public static let activate = Kind(rawValue: "activate")
        public static let rollback = Kind(rawValue: "rollback")
        public static let healthFailed = Kind(rawValue: "health-failed")
        public static let gc = Kind(rawValue: "gc")
        public static let publish = Kind(rawValue: "publish")
        public static let pull = Kind(rawValue: "pull")
    }

    public var time: Date
    public var kind: Kind
    public var generation: Int?
    public var fromGeneration: Int?
    public var manifest: Digest?
    public var reason: String?

    public init(time: Date = Date(), kind: Kind, generation: Int? = nil, fromGeneration: Int? = nil,
                manifest: Digest? = nil, reason: String? = nil) {
        self.time = time
        self.kind = kind
        self.generation = generation
        self.fromGeneration = fromGeneration
        self.manifest = manifest
        self.reason = reason
    }
}
