/// An optional output field that is written as JSON `null` when absent, instead of being left out.
///
/// The `--json` contract lists fields such as `generation` or `commit` as always present, `null` when there is
/// nothing to say; synthesized `Encodable` would drop a nil key, so such fields are declared
/// `@Nullable var generation: Int?`. Fields that are meant to be absent (fsck's `digest` or `path`) stay
/// plain optionals.
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}
