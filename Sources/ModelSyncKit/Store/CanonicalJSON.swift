/// A parsed JSON value, as read by the strict parser in `CanonicalJSON`.
///
/// Numbers keep their lexeme (`"12"`, `"-1"`, `"1.0e3"`) so a reader can say exactly what it got, and
/// object members keep their document order (duplicates are refused while parsing).
enum CanonicalJSONValue: Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([CanonicalJSONValue])
    case object([(key: String, value: CanonicalJSONValue)])

    /// A short description for error messages: `"text"`, `12`, `true`, `null`, `an array`, `an object`.
    var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let lexeme): return CanonicalJSON.truncated(lexeme)
        case .string(let text): return CanonicalJSON.quoted(text)
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// RFC 8785 (JSON Canonicalization Scheme) for the subset model-sync writes, and a strict JSON parser.
///
/// The encoder writes objects with keys sorted by UTF-16 code units, no whitespace, strings as raw UTF-8 with
/// escapes only for `"`, `\` and the control characters U+0000–U+001F (`\b \t \n \f \r`, otherwise `\u00xx`
/// in lowercase hex), never `\/`, and numbers only as non-negative decimal integers — the only numbers a
/// manifest holds, for which RFC 8785's ECMAScript number form is the plain decimal digits.
///
/// The parser accepts exactly RFC 8259 JSON and additionally refuses duplicate object keys, invalid UTF-8,
/// lone surrogates (RFC 7493, I-JSON) and nesting deeper than `maxDepth`.
enum CanonicalJSON {
    /// Why a document is not JSON, and where.
    struct SyntaxError: Error, Sendable, CustomStringConvertible {
        let reason: String
        let offset: Int
        /// True when a streaming caller stopped the parse (the document may be fine).
        var stopped = false
        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Deeper nesting is refused rather than risking the stack on hostile input.
    static let maxDepth = 64

    // MARK: Encoding

    /// The canonical bytes of `value`. Numbers must be non-negative decimal integers without leading zeros.
    static func encode(_ value: CanonicalJSONValue) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out)
        return out
    }

    static func append(_ value: CanonicalJSONValue, to out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let lexeme):
            precondition(isCanonicalInteger(lexeme), "CanonicalJSON encodes only non-negative integers, got \(lexeme)")
            out.append(contentsOf: lexeme.utf8)
        case .string(let text):
            appendString(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            // RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            out.append(UInt8(ascii: "{"))
            for (index, member) in sorted.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `text` as an RFC 8785 string literal.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole (a manifest of 200,000 paths went byte by byte).
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        // Working on UTF-8 bytes is exact: every byte of a multi-byte sequence is >= 0x80 and is copied as is.
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `text` as a JSON string literal, for error messages: every control character (Unicode Cc, including
    /// DEL and U+0080–U+009F) is shown as an escape, and long values are cut so hostile input cannot flood
    /// a terminal.
    static func quoted(_ text: String) -> String {
        let limit = 200
        var literal = "\""
        for scalar in text.unicodeScalars.prefix(limit) {
            switch scalar.value {
            case 0x22: literal += "\\\""
            case 0x5C: literal += "\\\\"
            case 0x08: literal += "\\b"
            case 0x09: literal += "\\t"
            case 0x0A: literal += "\\n"
            case 0x0C: literal += "\\f"
            case 0x0D: literal += "\\r"
            case 0x00..<0x20, 0x7F...0x9F:
                let hex = String(scalar.value, radix: 16)
                literal += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: literal.unicodeScalars.append(scalar)
            }
        }
        literal += "\""
        return text.unicodeScalars.count > limit ? literal + "…" : literal
    }

    static func truncated(_ text: String) -> String {
        text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    /// True for `0` and for decimal digits without a leading zero.
    static func isCanonicalInteger(_ lexeme: String) -> Bool {
        let bytes = Array(lexeme.utf8)
        guard let first = bytes.first, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return false
        }
        return first != UInt8(ascii: "0") || bytes.count == 1
    }

    // MARK: Parsing

    /// Parses one JSON document (RFC 8259), refusing duplicate keys, invalid UTF-8 and lone surrogates.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> CanonicalJSONValue {
        var parser = Parser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// Parses like `parse(_:)`, except that the elements of the array the top-level object holds under `key`
    /// are handed to `element` one at a time, in document order, and not kept: that member reads as an empty
    /// array. Memory then stays proportional to one element, not to the document's tree (a manifest's
    /// entries). `element` returning false stops the parse: it throws a `SyntaxError` whose `stopped` is true.
    static func parse(_ bytes: [UInt8], streaming key: String,
                      element: (CanonicalJSONValue) -> Bool) throws(SyntaxError) -> CanonicalJSONValue {
        try withoutActuallyEscaping(element) { (element) throws(SyntaxError) -> CanonicalJSONValue in
            var parser = Parser(bytes: bytes)
            parser.streamedKey = Array(key.utf8)
            parser.onElement = element
            return try parser.parseDocument()
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var depth = 0
        /// The top-level member whose array elements go to `onElement` instead of the tree.
        var streamedKey: [UInt8]?
        var onElement: ((CanonicalJSONValue) -> Bool)?

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func parseDocument() throws(SyntaxError) -> CanonicalJSONValue {
            skipWhitespace()
            let value = try parseValue()
            skipWhitespace()
            guard index == bytes.count else { throw failure("unexpected \(describeCurrent()) after the JSON value") }
            return value
        }

        func failure(_ reason: String) -> SyntaxError {
            SyntaxError(reason: reason, offset: index)
        }

        func describeCurrent() -> String {
            guard index < bytes.count else { return "end of input" }
            let byte = bytes[index]
            if byte >= 0x21 && byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
            let hex = String(byte, radix: 16)
            return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue() throws(SyntaxError) -> CanonicalJSONValue {
            guard index < bytes.count else { throw failure("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw failure("unexpected \(describeCurrent())")
            }
        }

        mutating func expectLiteral(_ literal: String) throws(SyntaxError) {
            let expected = Array(literal.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw failure("invalid literal (expected \(literal))")
            }
            index += expected.count
        }

        mutating func enterContainer() throws(SyntaxError) {
            depth += 1
            guard depth <= CanonicalJSON.maxDepth else {
                throw failure("nesting deeper than \(CanonicalJSON.maxDepth) levels")
            }
        }

        mutating func parseObject() throws(SyntaxError) -> CanonicalJSONValue {
            try enterContainer()
            index += 1  // {
            var members: [(key: String, value: CanonicalJSONValue)] = []
            var seen = Set<[UInt8]>()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw failure("expected a string key, found \(describeCurrent())")
                }
                let keyOffset = index
                let key = try parseString()
                // Compared as bytes: Swift's String equality would merge canonically equivalent keys.
                guard seen.insert(Array(key.utf8)).inserted else {
                    throw SyntaxError(reason: "duplicate key \(CanonicalJSON.quoted(key))", offset: keyOffset)
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw failure("expected ':' after a key, found \(describeCurrent())")
                }
                index += 1
                skipWhitespace()
                let streamed = depth == 1 && index < bytes.count && bytes[index] == UInt8(ascii: "[")
                    && streamedKey.map { key.utf8.elementsEqual($0) } == true
                let value = streamed ? try parseStreamedArray() : try parseValue()
                members.append((key: key, value: value))
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of input in an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else {
                    throw failure("expected ',' or '}' in an object, found \(describeCurrent())")
                }
                index += 1
                depth -= 1
                return .object(members)
            }
        }

        mutating func parseArray() throws(SyntaxError) -> CanonicalJSONValue {
            try enterContainer()
            index += 1  // [
            var elements: [CanonicalJSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue())
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of input in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else {
                    throw failure("expected ',' or ']' in an array, found \(describeCurrent())")
                }
                index += 1
                depth -= 1
                return .array(elements)
            }
        }

        /// An array whose elements go to `onElement` as soon as each is parsed; it reads as empty.
        mutating func parseStreamedArray() throws(SyntaxError) -> CanonicalJSONValue {
            try enterContainer()
            index += 1  // [
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array([])
            }
            while true {
                skipWhitespace()
                let elementOffset = index
                let element = try parseValue()
                if onElement?(element) == false {
                    throw SyntaxError(reason: "stopped by the caller", offset: elementOffset, stopped: true)
                }
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of input in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else {
                    throw failure("expected ',' or ']' in an array, found \(describeCurrent())")
                }
                index += 1
                depth -= 1
                return .array([])
            }
        }

        mutating func parseNumber() throws(SyntaxError) -> CanonicalJSONValue {
            let start = index
            func isDigit(_ position: Int) -> Bool {
                position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw failure("invalid number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard isDigit(index) else { throw failure("invalid number: a digit must follow '.'") }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard isDigit(index) else { throw failure("invalid number: a digit must follow the exponent") }
                while isDigit(index) { index += 1 }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func readHex4() throws(SyntaxError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw failure("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("invalid hex digit in a \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func parseString() throws(SyntaxError) -> String {
            let start = index
            index += 1  // opening quote
            var buffer: [UInt8] = []
            while true {
                guard index < bytes.count else {
                    throw SyntaxError(reason: "unterminated string", offset: start)
                }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let text = String(validating: buffer, as: UTF8.self) else {
                        throw SyntaxError(reason: "invalid UTF-8 in a string", offset: start)
                    }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    try parseEscape(into: &buffer)
                case 0x00..<0x20:
                    throw failure("unescaped control character in a string")
                default:
                    buffer.append(byte)
                    index += 1
                }
            }
        }

        /// Reads the escape after a backslash (at `index`) and appends the bytes it stands for.
        mutating func parseEscape(into buffer: inout [UInt8]) throws(SyntaxError) {
            guard index < bytes.count else { throw failure("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                // Not a surrogate once decoded, so the scalar always exists.
                let code = try parseUnicodeEscape(escapeStart: index - 2)
                buffer.append(contentsOf: Array(String(Unicode.Scalar(code)!).utf8))
            default:
                index -= 1
                throw failure("invalid escape sequence: backslash followed by \(describeCurrent())")
            }
        }

        /// Reads the four hex digits of a `\u` escape (and the low half of a surrogate pair) as one scalar value.
        mutating func parseUnicodeEscape(escapeStart: Int) throws(SyntaxError) -> UInt32 {
            let code = try readHex4()
            if (0xDC00..<0xE000).contains(code) {
                throw SyntaxError(reason: "lone surrogate in a \\u escape", offset: escapeStart)
            }
            guard (0xD800..<0xDC00).contains(code) else { return code }
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw SyntaxError(reason: "lone surrogate in a \\u escape", offset: escapeStart)
            }
            index += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else {
                throw SyntaxError(reason: "lone surrogate in a \\u escape", offset: escapeStart)
            }
            return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
    }
}
