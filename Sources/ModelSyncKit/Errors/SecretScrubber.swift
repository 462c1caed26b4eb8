import Foundation

/// Replaces secret values with `[redacted]` in text bound for a terminal, a log, `--json` or a metrics file.
///
/// The secrets are the values of the `.env` file, of the variables named by `*_env` keys and of the `${VAR}`
/// expansions of the configuration (``Workspace`` registers them in ``shared``). Values shorter than
/// ``minimumLength``, the words `true`/`false` and numbers of fewer than 8 digits are left alone: scrubbing
/// every `1`, `true` or `8080` would make messages unreadable without hiding anything. Text is scrubbed before it is truncated
/// (``scrubbedPrefix(_:maxLength:)``), so a secret cut in half by truncation is never half shown.
///
/// ```swift
/// let scrubber = SecretScrubber(secrets: ["s3cr3t-token"])
/// scrubber.scrub("401 for s3cr3t-token")   // "401 for [redacted]"
/// ```
public struct SecretScrubber: Sendable {
    /// What a secret is replaced with.
    public static let replacement = "[redacted]"
    /// Shorter values are not treated as secrets.
    public static let minimumLength = 4

    /// The secrets, longest first so that a secret containing another is replaced whole.
    public private(set) var secrets: [String] = []

    /// A scrubber for these values (those too short to matter are dropped).
    public init(secrets: some Sequence<String> = []) {
        add(secrets)
    }

    /// Adds values to scrub.
    public mutating func add(_ values: some Sequence<String>) {
        var all = Set(secrets)
        for value in values where Self.isSecretLike(value) {
            all.insert(value)
            // Its spelling inside a JSON string, so that text already encoded (`--json`) is scrubbed too.
            all.insert(Self.jsonEscaped(value))
        }
        secrets = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Whether a value is worth scrubbing: at least ``minimumLength`` characters, not `true`/`false`, and not
    /// a short number (a port or a count in `.env` would otherwise blank every figure containing it).
    static func isSecretLike(_ value: String) -> Bool {
        guard value.count >= minimumLength, !["true", "false"].contains(value.lowercased()) else { return false }
        return !(value.count < 8 && value.allSatisfy { $0.isASCII && $0.isNumber })
    }

    /// `value` as written between the quotes of a JSON string.
    static func jsonEscaped(_ value: String) -> String {
        var result = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` with every secret replaced.
    public func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.replacement)
        }
        return result
    }

    /// At most `maxLength` characters of `text`, scrubbed first: a secret is never cut before it is replaced.
    public func scrubbedPrefix(_ text: String, maxLength: Int) -> String {
        String(scrub(text).prefix(maxLength))
    }

    /// At most `maxLength` characters from the end of `text`, scrubbed first.
    public func scrubbedSuffix(_ text: String, maxLength: Int) -> String {
        String(scrub(text).suffix(maxLength))
    }

    private static let registry = Locked(SecretScrubber())

    /// The process-wide scrubber: the secrets of every workspace resolved so far. Errors are thrown far from
    /// where the configuration was read, and every path out of the process (the CLI's messages, the daemon's
    /// log, the metrics file) must scrub with the same list, so it is kept in one place.
    public static var shared: SecretScrubber {
        registry.withLock { $0 }
    }

    /// Adds values to the process-wide scrubber.
    public static func register(_ values: some Sequence<String>) {
        let values = Array(values)
        registry.withLock { $0.add(values) }
    }
}
