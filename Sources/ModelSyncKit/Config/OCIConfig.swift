/// `model_sync.oci`: an OCI registry (distribution, GHCR, Harbor, ECR, Zot…) as the transport. Setting
/// `reference` selects it for `publish`, `pull`, `versions`, `gc --registry` and the daemon roles, instead of
/// the git registry.
public struct OCIConfig: Sendable, Hashable {
    /// `reference`: `host[:port]/repository` (`ghcr.io/org/models`, `127.0.0.1:5000/models`); nil: the git
    /// registry is the transport.
    public var reference: String?
    /// `channel` [latest]: the tag publishers move and clients follow.
    public var channel: String = "latest"
    /// `concurrency` [4]: blob transfers run at once.
    public var concurrency: Int = 4
    /// `username`: the registry account, sent with the password `password_env` names.
    public var username: String?
    /// `password_env`: the variable holding the password or token (a secret: scrubbed everywhere).
    public var passwordEnv: String?
    /// `insecure` [false]: plain `http://` to a registry on another machine.
    public var insecure: Bool = false
    /// `ca_bundle`: a PEM file of the certificate authorities the registry's certificate is checked against.
    public var caBundle: String?
    /// `mount_from` [[]]: repositories of the same registry whose blobs a publish mounts instead of uploading.
    public var mountFrom: [String] = []

    /// The defaults.
    public init() {}

    /// True when `reference` selects the OCI transport.
    public var isEnabled: Bool { reference != nil }

    /// Tags of this form name a published set by its manifest digest (`sha256-<64 hex>`): never a channel.
    public static let digestTagPrefix = "sha256-"

    /// How to write `reference`, for the error that refuses one.
    public static let referenceHint = "write it as docker does, without a scheme: ghcr.io/org/models or 127.0.0.1:5000/models"

    /// What is wrong with `text` as `[oci://]host[:port]/repository`, or nil when it is fine: the one grammar
    /// of a reference, for the configuration and for ``OCIReference``. The repository follows the distribution
    /// spec's grammar: lowercase components `[a-z0-9]+` joined by `.`, `_`, `__` or dashes, separated by `/`; the
    /// host is a DNS name or IPv4 address (or `[IPv6]`) with an optional port, and, as docker reads the first
    /// component, holds a dot or a port or is `localhost` (`acme/models` is a path on Docker Hub, not a host).
    public static func referenceProblem(_ text: String) -> String? {
        let body = text.hasPrefix("oci://") ? text.dropFirst("oci://".count) : Substring(text)
        if body.contains("://") {
            return "expected host[:port]/repository without a scheme (plain HTTP is chosen with oci.insecure)"
        }
        guard let slash = body.firstIndex(of: "/") else { return "expected host[:port]/repository: no repository" }
        let host = String(body[..<slash]), repository = String(body[body.index(after: slash)...])
        if let problem = hostProblem(host) { return problem }
        if body.contains("@") || repository.contains(":") {
            return "expected host[:port]/repository without a tag or digest (the channel is oci.channel)"
        }
        if let problem = repositoryProblem(repository) { return problem }
        if !host.hasPrefix("["), !host.contains("."), !host.contains(":"), host.lowercased() != "localhost" {
            return "\"\(host)\" is not a registry host: docker reads a first part without a dot or a port (other "
                + "than localhost) as a path on Docker Hub; write \(host).example:5000/\(repository) for a registry "
                + "of your own, or docker.io/\(host)/\(repository) for Docker Hub"
        }
        return nil
    }

    /// What is wrong with `host[:port]`, or nil.
    static func hostProblem(_ host: String) -> String? {
        guard host.utf8.count <= 255 else { return "the host is longer than 255 characters" }
        var name = Substring(host), port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "host \"\(host)\" has an unclosed [" }
            name = host[host.index(after: host.startIndex)..<close]
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty { guard rest.hasPrefix(":") else { return "host \"\(host)\" is not host[:port]" }; port = rest.dropFirst() }
            guard !name.isEmpty, name.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return "host \"\(host)\" is not an IPv6 address in brackets"
            }
        } else {
            let parts = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            name = parts[0]
            if parts.count == 2 { port = parts[1] }
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            let valid = !name.isEmpty && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
            guard valid else { return "host \"\(host)\" is not a DNS name or IP address" }
        }
        if let port {
            guard let number = Int(port), (1...65535).contains(number), port.allSatisfy(\.isNumber) else {
                return "port \"\(port)\" is not a number from 1 to 65535"
            }
        }
        return nil
    }

    /// What is wrong with a repository name (`org/models`), or nil.
    public static func repositoryProblem(_ repository: String) -> String? {
        guard !repository.isEmpty else { return "the repository name is empty" }
        guard repository.utf8.count <= 255 else { return "the repository name is longer than 255 characters" }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard isRepositoryComponent(component) else {
                return "repository \"\(repository)\": each /-separated part must be lowercase letters and digits, "
                    + "joined by single \".\" or \"_\", \"__\", or dashes"
            }
        }
        return nil
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    private static func isRepositoryComponent(_ component: Substring) -> Bool {
        let alphanumeric: (Character) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        guard let first = component.first, let last = component.last, alphanumeric(first), alphanumeric(last) else {
            return false
        }
        var separator = ""
        for character in component {
            if alphanumeric(character) {
                guard separator.isEmpty || [".", "_", "__"].contains(separator) || separator.allSatisfy({ $0 == "-" }) else {
                    return false
                }
                separator = ""
            } else if ".-_".contains(character) {
                separator.append(character)
            } else {
                return false
            }
        }
        return true
    }

    /// What is wrong with `text` as a tag, or nil: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (the distribution
    /// spec's tag grammar).
    public static func tagProblem(_ text: String) -> String? {
        let allowed: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard let first = text.first, first != ".", first != "-", text.count <= 128, text.allSatisfy(allowed) else {
            return "expected a tag: letters, digits, \"_\", \".\" and \"-\", at most 128, not starting with \".\" or \"-\""
        }
        return nil
    }

    /// What is wrong with `text` as a channel tag, or nil: a tag (``tagProblem(_:)``), and not `sha256-…`,
    /// which names sets by digest.
    public static func channelProblem(_ text: String) -> String? {
        if let problem = tagProblem(text) { return problem }
        if text.lowercased().hasPrefix(digestTagPrefix) {
            return "tags starting with \"\(digestTagPrefix)\" name published sets by digest; choose another channel"
        }
        return nil
    }
}

extension Config {
    /// `model_sync.oci`.
    mutating func readOCI(_ section: SectionReader) throws(ConfigError) {
        let file = section.reader.file
        if let text = try section.string("reference") {
            if let problem = OCIConfig.referenceProblem(text) {
                throw section.reader.error("model_sync.oci.reference", section.keyLine("reference"),
                                           "\(problem), got \"\(text)\"", hint: OCIConfig.referenceHint)
            }
            oci.reference = text
        }
        if let text = try section.string("channel") {
            if let problem = OCIConfig.channelProblem(text) {
                throw section.reader.error("model_sync.oci.channel", section.keyLine("channel"), "\(problem), got \"\(text)\"")
            }
            oci.channel = text
        }
        if let value = try section.integer("concurrency", minimum: 1) { oci.concurrency = Int(value) }
        oci.username = try section.string("username")
        oci.passwordEnv = try section.variableName("password_env")
        if let value = try section.bool("insecure") { oci.insecure = value }
        oci.caBundle = try section.string("ca_bundle")
        if let list = try section.stringList("mount_from", expecting: "a repository of the same registry",
                                             parse: OCIConfig.repositoryProblem) {
            oci.mountFrom = list
        }
        if oci.passwordEnv != nil, oci.username == nil {
            throw ConfigError(.missingValue, file: file, line: section.keyLine("password_env"), key: "model_sync.oci.username",
                              reason: "required when oci.password_env is set",
                              hint: "set model_sync.oci.username to the registry account (a token's user name for GHCR is your login)")
        }
    }
}
