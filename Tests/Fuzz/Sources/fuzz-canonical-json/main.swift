// The strict JSON parser and the RFC 8785 encoder behind manifests: any parsed document, its numbers made
// encodable, encodes to bytes that parse again and encode to themselves (the canonical form is a fixed point).
import FuzzSupport
@testable import ModelSyncKit

/// `value` with every number the encoder cannot write (negative, fractional, exponent) kept as a string.
func encodable(_ value: CanonicalJSONValue) -> CanonicalJSONValue {
    switch value {
    case .number(let lexeme) where !CanonicalJSON.isCanonicalInteger(lexeme): return .string(lexeme)
    case .array(let items): return .array(items.map(encodable))
    case .object(let members): return .object(members.map { (key: $0.key, value: encodable($0.value)) })
    default: return value
    }
}

runFuzzer { start, count in
    let bytes = fuzzBytes(start, count)
    guard let value = try? CanonicalJSON.parse(bytes) else { return 0 }
    _ = value.shortDescription
    let encoded = CanonicalJSON.encode(encodable(value))
    guard let reparsed = try? CanonicalJSON.parse(encoded) else {
        invariant(false, "the canonical encoding of a parsed document does not parse")
        return 0
    }
    invariant(CanonicalJSON.encode(reparsed) == encoded, "the canonical encoding is not a fixed point")
    if case .string(let text) = value { _ = CanonicalJSON.quoted(text) }
    return 0
}
