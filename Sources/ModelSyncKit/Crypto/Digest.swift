/// A SHA-256 content digest, written `sha256:<64 lowercase hex>` everywhere (manifests, CLI, JSON, registry).
///
/// ```swift
/// let digest = try Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
/// digest.hex   // "e3b0c442…"
/// ```
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The algorithm prefix used in every written form.
    public static let prefix = "sha256:"

    /// The 32 bytes as four big-endian words, so that comparing words compares the hex text: 32 bytes inline
    /// instead of a 64-character string on the heap — a manifest of 200,000 files holds 200,000 of these.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The 64 lowercase hex characters (written on each call: object paths are built from them).
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            for (position, word) in [words.0, words.1, words.2, words.3].enumerated() {
                for nibble in 0..<16 {
                    buffer[position * 16 + nibble] = Digest.hexDigits[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)]
                }
            }
            return 64
        }
    }

    /// The lowercase hex digits, as bytes.
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Wraps 32 raw digest bytes.
    public init(bytes: some Sequence<UInt8>) {
        var words: [UInt64] = [0, 0, 0, 0]
        var count = 0
        for byte in bytes {
            precondition(count < 32, "a SHA-256 digest has 32 bytes")
            words[count / 8] = words[count / 8] << 8 | UInt64(byte)
            count += 1
        }
        precondition(count == 32, "a SHA-256 digest has 32 bytes")
        self.words = (words[0], words[1], words[2], words[3])
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
        var words: [UInt64] = [0, 0, 0, 0]
        for (index, character) in body.utf8.enumerated() {
            let nibble = character <= 57 ? character - 48 : character - 87
            words[index / 16] = words[index / 16] << 4 | UInt64(nibble)
        }
        self.words = (words[0], words[1], words[2], words[3])
    }

    /// True when `text` is exactly 64 lowercase hex characters.
    public static func isHex64(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// `sha256:<hex>`.
    public var description: String { Digest.prefix + hex }

    /// The two-character fan-out directory (`ab` for `sha256:ab12…`).
    public var fanout: String {
        let byte = Int(words.0 >> 56)
        return String(decoding: [Digest.hexDigits[byte >> 4], Digest.hexDigits[byte & 0xF]], as: UTF8.self)
    }

    /// The object's path relative to an objects root: `sha256/ab/ab12…`.
    public var objectRelativePath: String { "sha256/\(fanout)/\(hex)" }

    /// The digest of zero bytes.
    public static let empty = try! Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        (lhs.words.0, lhs.words.1, lhs.words.2, lhs.words.3) < (rhs.words.0, rhs.words.1, rhs.words.2, rhs.words.3)
    }

    public static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
