/// Where a set lives in an OCI registry: `host[:port]/repository`, checked as the distribution spec names
/// repositories (lowercase path components of `[a-z0-9]` joined by `.`, `_`, `__` or dashes).
///
/// ```swift
/// let reference = try OCIReference(parsing: "ghcr.io/acme/models")
/// reference.registry     // "ghcr.io"
/// reference.repository   // "acme/models"
/// ```
public struct OCIReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry's host and optional port (`ghcr.io`, `127.0.0.1:5000`).
    public let registry: String
    /// The repository inside the registry, without the host (`acme/models`).
    public let repository: String

    /// Parses `host[:port]/repository` (an `oci://` in front is dropped) with the configuration's grammar
    /// (``OCIConfig/referenceProblem(_:)``); a tag (`:latest`) or digest (`@sha256:…`) is refused, since the
    /// channel names the tag. Errors are configuration errors naming `key` (exit 2).
    public init(parsing text: String, key: String = "model_sync.oci.reference") throws {
        if let problem = OCIConfig.referenceProblem(text) {
            let scrubber = SecretScrubber.shared
            throw ConfigError(.invalidValue, file: nil, key: key,
                              reason: "\(scrubber.scrub(problem)), got \"\(scrubber.scrubbedPrefix(text, maxLength: 200))\"",
                              hint: OCIConfig.referenceHint)
        }
        let body = text.hasPrefix("oci://") ? text.dropFirst("oci://".count) : Substring(text)
        // referenceProblem found the slash between a host and a repository.
        let parts = body.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        registry = parts[0].lowercased()
        repository = String(parts[1])
    }

    /// A reference to another repository of the same registry (for cross-repository mounts).
    public init(registry: String, repository: String) {
        self.registry = registry
        self.repository = repository
    }

    /// `host[:port]/repository`.
    public var description: String { "\(registry)/\(repository)" }

    /// The host without the port (`127.0.0.1` for `127.0.0.1:5000`; `[::1]` keeps its brackets).
    public var host: String {
        if registry.hasPrefix("[") { return String(registry[...(registry.firstIndex(of: "]") ?? registry.endIndex)]) }
        return String(registry.split(separator: ":", maxSplits: 1).first ?? Substring(registry))
    }

    /// True for `localhost`, 127.0.0.0/8 and `[::1]`: requests to it never leave the machine.
    public var isLoopback: Bool { RemoteURL.isLoopback(host: host) }

    /// A tag as the distribution spec allows it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (``OCIConfig/tagProblem(_:)``).
    public static func isTag(_ text: String) -> Bool {
        OCIConfig.tagProblem(text) == nil
    }
}
