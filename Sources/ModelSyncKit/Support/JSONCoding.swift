import Foundation

/// The library's one JSON encoding and decoding path (manifests excepted: their canonical form, RFC 8785, is
/// written and checked byte for byte by `CanonicalJSON`). Keys are sorted, slashes are not escaped and dates
/// are RFC 3339 UTC, so what the command line prints, the daemon logs and the store keeps reads the same.
///
/// ```swift
/// let line = try JSONCoding.encode(event)            // {"event":"run","time":"2026-01-01T00:00:00Z"}
/// let state = try JSONCoding.decode(Stored.self, from: bytes)
/// ```
public enum JSONCoding {
    /// `value` as compact JSON text. Throws only for a value that has no JSON form (a non-finite Double).
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.rfc3339)
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes a `T` from JSON bytes (RFC 8259); dates are read as ``encode(_:)`` writes them.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Date(rfc3339: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return try decoder.decode(type, from: Data(bytes))
    }
}
