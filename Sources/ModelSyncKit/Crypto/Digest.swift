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
            writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<64]))
            return 64
        }
    }

    /// Writes the 64 hex digits into `buffer` (at least 64 bytes), word by word: no array per call, as a
    /// manifest of 200,000 files spells 200,000 digests.
    private func writeHex(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        withUnsafeBytes(of: words) { raw in
            for position in 0..<4 {
                let word = raw.load(fromByteOffset: position * 8, as: UInt64.self)
                for nibble in 0..<16 {
                    let value = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble)) & 0xF
                    buffer[position * 16 + nibble] = value < 10 ? value &+ 48 : value &+ 87
                }
            }
        }
    }

    /// Appends `sha256:<hex>` as UTF-8 bytes, without building the string (the manifest encoder).
    func appendDescription(to out: inout [UInt8]) {
        out.append(contentsOf: Digest.prefixBytes)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 64))
        out.withUnsafeMutableBufferPointer { buffer in
            writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[start..<start + 64]))
        }
    }

    /// Calls `body` with the object's path relative to an objects root (`sha256/ab/ab12…`) as a C string
    /// built on the stack: the importer looks up every cached object by it.
    func withObjectRelativePath<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 75) { buffer in
            for (offset, byte) in "sha256/".utf8.enumerated() { buffer[offset] = byte }
            writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[10..<74]))
            buffer[7] = buffer[10]
            buffer[8] = buffer[11]
            buffer[9] = UInt8(ascii: "/")
            buffer[74] = 0
            return try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// The first 64 bits of the digest, which order digests as their hex text does.
    var leadingWord: UInt64 { words.0 }

    /// `sha256:` as bytes.
    private static let prefixBytes: [UInt8] = Array(prefix.utf8)

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
        // One pass over contiguous bytes: the stat cache parses a digest per file of a large folder.
        let parsed = text.utf8.withContiguousStorageIfAvailable { Digest.parse($0, allowBareHex: allowBareHex) }
        if let parsed {
            guard let parsed else { throw Digest.invalid(text) }
            self = parsed
            return
        }
        var body = Substring(text)
        if body.hasPrefix(Digest.prefix) {
            body = body.dropFirst(Digest.prefix.count)
        } else if !allowBareHex {
            throw Digest.invalid(text)
        }
        guard Digest.isHex64(body), let digest = Digest.parse(Array(body.utf8), allowBareHex: true) else {
            throw Digest.invalid(text)
        }
        self = digest
    }

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// `sha256:<64 lowercase hex>` (or the bare hex with `allowBareHex`) as UTF-8 bytes; nil when malformed.
    private static func parse(_ bytes: some RandomAccessCollection<UInt8>, allowBareHex: Bool) -> Digest? {
        var start = bytes.startIndex
        if bytes.count == 71, bytes.starts(with: prefixBytes) {
            start = bytes.index(start, offsetBy: 7)
        } else if !(allowBareHex && bytes.count == 64) {
            return nil
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = start
        for word in 0..<4 {
            var value: UInt64 = 0
            for _ in 0..<16 {
                let character = bytes[index]
                index = bytes.index(after: index)
                let nibble: UInt8
                switch character {
                case 48...57: nibble = character &- 48
                case 97...102: nibble = character &- 87
                default: return nil
                }
                value = value << 4 | UInt64(nibble)
            }
            switch word {
            case 0: words.0 = value
            case 1: words.1 = value
            case 2: words.2 = value
            default: words.3 = value
            }
        }
        return Digest(words: words)
    }

    private static func invalid(_ text: String) -> IntegrityError {
        IntegrityError(.invalidDigest, "invalid digest \"\(SecretScrubber.shared.scrubbedPrefix(text, maxLength: 80))\": expected sha256:<64 lowercase hex>")
    }

    /// True when `text` is exactly 64 lowercase hex characters.
    public static func isHex64(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// `sha256:<hex>`.
    public var description: String {
        String(unsafeUninitializedCapacity: 71) { buffer in
            for (offset, byte) in Digest.prefix.utf8.enumerated() { buffer[offset] = byte }
            writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[7..<71]))
            return 71
        }
    }

    /// The two-character fan-out directory (`ab` for `sha256:ab12…`).
    public var fanout: String {
        let byte = Int(words.0 >> 56)
        return String(decoding: [Digest.hexDigits[byte >> 4], Digest.hexDigits[byte & 0xF]], as: UTF8.self)
    }

    /// The object's path relative to an objects root: `sha256/ab/ab12…`.
    public var objectRelativePath: String { withObjectRelativePath { String(cString: $0) } }

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
