import Foundation

/// The statement signed for every published manifest: `{"manifest":"sha256:…","schema":"model-sync.signature.v1"}`.
public struct ManifestStatement: Sendable, Equatable {
    /// The schema name the statement carries.
    public static let schema = "model-sync.signature.v1"
    /// The manifest vouched for.
    public let manifest: Digest

    /// A statement for `manifest`.
    public init(manifest: Digest) { self.manifest = manifest }

    /// RFC 8785 canonical bytes: what the signature covers.
    public var canonicalBytes: [UInt8] {
        CanonicalJSON.encode(.object([("manifest", .string(manifest.description)), ("schema", .string(Self.schema))]))
    }

    /// Reads a signed statement's bytes; `name` (the signature file) goes into the error.
    public static func decode(_ bytes: [UInt8], name: String) throws(IntegrityError) -> ManifestStatement {
        let fields = try StatementFields(bytes, name: name, schema: schema)
        return ManifestStatement(manifest: try fields.digest("manifest"))
    }
}

/// The statement signed for every channel move (docs/signing.md): which manifest the channel names, the
/// release's sequence number (one more than the previous release's) and when it was issued and expires.
public struct ReleaseStatement: Sendable, Equatable {
    /// The schema name the statement carries.
    public static let schema = "model-sync.release.v1"
    /// The channel moved (`latest`).
    public let channel: String
    /// The manifest it names.
    public let manifest: Digest
    /// Grows by one with each publish to the channel.
    public let sequence: Int
    /// When it was signed, and until when clients accept it (whole seconds, UTC).
    public let issued: Date
    public let expires: Date

    /// A release statement; the dates are cut to whole seconds, as RFC 3339 text holds them.
    public init(channel: String, manifest: Digest, sequence: Int, issued: Date, expires: Date) {
        self.channel = channel
        self.manifest = manifest
        self.sequence = sequence
        self.issued = Date(timeIntervalSince1970: issued.timeIntervalSince1970.rounded(.down))
        self.expires = Date(timeIntervalSince1970: expires.timeIntervalSince1970.rounded(.down))
    }

    /// RFC 8785 canonical bytes: what the signature covers.
    public var canonicalBytes: [UInt8] {
        CanonicalJSON.encode(.object([
            ("channel", .string(channel)), ("expires", .string(expires.rfc3339)),
            ("issued", .string(issued.rfc3339)), ("manifest", .string(manifest.description)),
            ("schema", .string(Self.schema)), ("sequence", .number(String(sequence))),
        ]))
    }

    /// Reads a signed release statement's bytes; `name` (the signature file) goes into the error.
    public static func decode(_ bytes: [UInt8], name: String) throws(IntegrityError) -> ReleaseStatement {
        let fields = try StatementFields(bytes, name: name, schema: schema)
        return ReleaseStatement(channel: try fields.string("channel"), manifest: try fields.digest("manifest"),
                                sequence: try fields.sequence(), issued: try fields.date("issued"),
                                expires: try fields.date("expires"))
    }
}

/// The members of a statement object, read with errors that name the signature file and the field.
struct StatementFields {
    let name: String
    let fields: [String: CanonicalJSONValue]

    init(_ bytes: [UInt8], name: String, schema: String) throws(IntegrityError) {
        self.name = name
        let value: CanonicalJSONValue
        do { value = try CanonicalJSON.parse(bytes) } catch {
            throw IntegrityError(.invalidSignature, "the statement in \(name) is not JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) is not a JSON object")
        }
        fields = Dictionary(members, uniquingKeysWith: { first, _ in first })
        let found = try string("schema")
        guard found == schema else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) has schema \"\(found.prefix(80))\", not \(schema)")
        }
    }

    func string(_ key: String) throws(IntegrityError) -> String {
        guard case .string(let text)? = fields[key] else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) has no string \"\(key)\"")
        }
        return text
    }

    func digest(_ key: String) throws(IntegrityError) -> Digest {
        let text = try string(key)
        guard let digest = try? Digest(parsing: text) else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) has \"\(key)\" \"\(text.prefix(80))\", not a sha256 digest")
        }
        return digest
    }

    func date(_ key: String) throws(IntegrityError) -> Date {
        let text = try string(key)
        guard let date = Date(rfc3339: text) else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) has \"\(key)\" \"\(text.prefix(80))\", not an RFC 3339 time")
        }
        return date
    }

    func sequence() throws(IntegrityError) -> Int {
        guard case .number(let lexeme)? = fields["sequence"], let value = Int(lexeme), value >= 0 else {
            throw IntegrityError(.invalidSignature, "the statement in \(name) has no non-negative integer \"sequence\"")
        }
        return value
    }
}
