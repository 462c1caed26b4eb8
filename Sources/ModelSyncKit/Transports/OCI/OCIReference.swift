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

    /// Parses `host[:port]/repository`; a tag (`:latest`) or digest (`@sha256:…`) is refused, since the
    /// channel names the tag. Errors are configuration errors naming `key` (exit 2).
    public init(parsing text: String, key: String = "model_sync.oci.reference") throws {
        func invalid(_ reason: String, hint: String) -> ConfigError {
            ConfigError(.invalidValue, file: nil, key: key,
                        reason: "\"\(SecretScrubber.shared.scrubbedPrefix(text, maxLength: 200))\" \(reason)", hint: hint)
        }
        let example = "write host[:port]/repository, for example ghcr.io/acme/models or 127.0.0.1:5000/models"
        var body = Substring(text)
        for scheme in ["https://", "http://"] where body.hasPrefix(scheme) {
            throw invalid("starts with \(scheme)", hint: example + " (plain HTTP is chosen with oci.insecure)")
        }
        if body.hasPrefix("oci://") { body = body.dropFirst("oci://".count) }
        guard let slash = body.firstIndex(of: "/") else {
            throw invalid("names no repository", hint: example)
        }
        let host = String(body[..<slash])
        let path = String(body[body.index(after: slash)...])
        guard Self.isHost(host) else {
            throw invalid("does not start with a registry host", hint: example)
        }
        if path.contains("@") {
            throw invalid("names a digest", hint: "give the repository only; versions are chosen by tag and digest by model-sync")
        }
        if path.contains(":") {
            throw invalid("names a tag", hint: "give the repository only; the tag is the channel (latest, or the configured channel)")
        }
        guard Self.isRepositoryName(path) else {
            throw invalid("is not a valid repository name",
                          hint: "repository names are lowercase letters and digits, separated by /, ., _, __ or -")
        }
        registry = host.lowercased()
        repository = path
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

    /// A registry host as docker reads the first component: it holds a dot or a port, or is `localhost`
    /// (otherwise `acme/models` would send requests to a host named `acme`).
    static func isHost(_ text: String) -> Bool {
        guard !text.isEmpty, text.count <= 255 else { return false }
        var name = Substring(text)
        var hasPort = false
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let rest = name[name.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && isPort(rest.dropFirst())) else { return false }
            return name[name.index(after: name.startIndex)..<close].allSatisfy { $0.isHexDigit || $0 == ":" }
        }
        if let colon = name.lastIndex(of: ":") {
            guard isPort(name[name.index(after: colon)...]) else { return false }
            name = name[..<colon]
            hasPort = true
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
        }
        return valid && (hasPort || labels.count > 1 || name.lowercased() == "localhost")
    }

    private static func isPort(_ text: Substring) -> Bool {
        guard let port = Int(text), !text.isEmpty, text.allSatisfy(\.isNumber) else { return false }
        return (1...65535).contains(port)
    }

    /// The distribution spec's `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
    /// at most 255 characters with the host (checked here on the path alone, generously).
    static func isRepositoryName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        return text.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isPathComponent)
    }

    private static func isPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        func alnum(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if alnum(bytes[index]) { index += 1; continue }
            // A separator: ".", "_", "__" or one or more "-", always between alphanumerics.
            var end = index
            if bytes[index] == UInt8(ascii: "-") {
                while end < bytes.count && bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else if bytes[index] == UInt8(ascii: "_") {
                end += bytes.count > index + 1 && bytes[index + 1] == UInt8(ascii: "_") ? 2 : 1
            } else if bytes[index] == UInt8(ascii: ".") {
                end += 1
            } else {
                return false
            }
            guard end < bytes.count, alnum(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    /// A tag as the distribution spec allows it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    public static func isTag(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ byte: UInt8) -> Bool {
            (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "_")
        }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
