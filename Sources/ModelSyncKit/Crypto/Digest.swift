/// A SHA-256 content digest, written `sha256:<64 lowercase hex>` everywhere (manifests, CLI, JSON, registry).
///
/// ```swift
/// let digest = try Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
/// digest.hex   // "e3b0c442…"
/// ```
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The algorithm prefix used in every written form.
    public static let prefix = "sha256:"

    /// The 64 lowercase hex characters.
    public let hex: String

    /// Wraps 32 raw digest bytes.
    public init(bytes: some Sequence<UInt8>) {
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        precondition(out.count == 64, "a SHA-256 digest has 32 bytes")
        hex = String(decoding: out, as: UTF8.self)
    }

    /// Parses `sha256:<64 lowercase hex>`; with `allowBareHex`, also accepts the 64 hex characters alone.
    public init(parsing text: String, allowBareHex: Bool = false) throws(IntegrityError) {
        var body = Substring(text)
        if body.hasPrefix(Digest.prefix) {
            body = body.dropFirst(Digest.prefix.count)
        } else if !allowBareHex {
            throw IntegrityError(.invalidDigest, "invalid digest \"\(SecretScrubber.shared.scrubbedPrefix(text, maxLength: 80))\": expected sha256:<64 lowercase hex>")
        }
        guard Digest.isHex64(body) else {
            throw IntegrityError(.invalidDigest, "invalid digest \"\(SecretScrubber.shared.scrubbedPrefix(text, maxLength: 80))\": expected sha256:<64 lowercase hex>")
        }
        hex = String(body)
    }

    /// True when `text` is exactly 64 lowercase hex characters.
    public static func isHex64(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// `sha256:<hex>`.
    public var description: String { Digest.prefix + hex }

    /// The two-character fan-out directory (`ab` for `sha256:ab12…`).
    public var fanout: String { String(hex.prefix(2)) }

    /// The object's path relative to an objects root: `sha256/ab/ab12…`.
    public var objectRelativePath: String { "sha256/\(fanout)/\(hex)" }

    /// The digest of zero bytes.
    public static let empty = try! Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
