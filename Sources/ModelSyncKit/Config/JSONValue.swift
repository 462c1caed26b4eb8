import Foundation

/// A JSON value, as written in the configuration (`runpod.trigger_payload`) and sent in HTTP bodies.
///
/// Objects are unordered; `jsonBytes()` writes their keys sorted, so the same value always gives the same bytes.
public enum JSONValue: Sendable, Hashable {
    /// A string.
    case string(String)
    /// An integer (a YAML plain scalar such as `20`).
    case int(Int64)
    /// A floating-point number (a YAML plain scalar such as `0.5`); must be finite to serialize.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// The compact JSON text of this value (keys sorted, no whitespace); non-finite numbers become `null`.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// The compact JSON text of this value as a string.
    public var jsonString: String {
        String(decoding: jsonBytes(), as: UTF8.self)
    }

    /// The value stored under `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text):
            Self.writeString(text, into: &out)
        case .int(let value):
            out.append(contentsOf: String(value).utf8)
        case .number(let value):
            if value.isFinite {
                // Integral doubles print as `3.0`; both forms are valid JSON numbers.
                out.append(contentsOf: "\(value)".utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .null:
            out.append(contentsOf: "null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The library's one way of reading JSON: every JSON document it reads (RunPod answers, the error text a
/// RunPod worker returns, `pack --have` lists) is decoded into a `JSONValue` here.
extension JSONValue {
    /// Parses JSON text (RFC 8259) into a value; integers that fit stay `.int`.
    ///
    /// ```swift
    /// let job = try JSONValue.decode(Array(#"{"id":"j1","status":"IN_QUEUE"}"#.utf8))
    /// job["status"]?.stringValue  // "IN_QUEUE"
    /// ```
    static func decode(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONCoding.decode(DecodedJSON.self, from: bytes).value
    }

    /// The string value, when this is a string.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The integer value, when this is an integer (or a float with no fractional part).
    var integerValue: Int64? {
        switch self {
        case .int(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 9e15: return Int64(value)
        default: return nil
        }
    }
}

/// `Decodable` adapter for `JSONValue`: tries each JSON type in turn.
private struct DecodedJSON: Decodable {
    let value: JSONValue

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(DecodedJSON.self).value) }
            value = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: JSONValue] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(DecodedJSON.self, forKey: key).value }
            value = .object(members)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { value = .null }
        else if let bool = try? single.decode(Bool.self) { value = .bool(bool) }
        else if let int = try? single.decode(Int64.self) { value = .int(int) }
        else if let double = try? single.decode(Double.self) { value = .number(double) }
        else { value = .string(try single.decode(String.self)) }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
