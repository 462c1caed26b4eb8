import Foundation

/// An OCI content descriptor (image-spec `descriptor.md`): what a manifest says about a blob — its media
/// type, digest, size and annotations.
public struct OCIDescriptor: Codable, Sendable, Hashable {
    /// `mediaType`.
    public var mediaType: String
    /// `digest`, as written (`sha256:<hex>`; other algorithms are refused when the set is read).
    public var digest: String
    /// `size` in bytes.
    public var size: UInt64
    /// `annotations` (`org.opencontainers.image.title`…).
    public var annotations: [String: String]?
    /// `artifactType`, for descriptors of artifacts.
    public var artifactType: String?

    /// A descriptor of `digest`.
    public init(mediaType: String, digest: Digest, size: UInt64, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest.description
        self.size = size
        self.annotations = annotations
    }

    /// The `org.opencontainers.image.title` annotation: a file's path in an ORAS-style artifact.
    public var title: String? { annotations?[OCIImageManifest.titleAnnotation] }
}

/// An OCI image manifest, v1.1 (image-spec `manifest.md`): a config descriptor, layers and annotations.
/// Decoded leniently (unknown members ignored, as the spec asks) and encoded in one deterministic form for
/// a push: keys sorted, no whitespace, slashes not escaped.
public struct OCIImageManifest: Codable, Sendable, Hashable {
    /// `application/vnd.oci.image.manifest.v1+json`.
    public static let mediaType = "application/vnd.oci.image.manifest.v1+json"
    /// The media type of an image index, which is not a set.
    public static let indexMediaType = "application/vnd.oci.image.index.v1+json"
    /// A Docker schema 2 manifest: same shape, older media types; accepted for reading.
    public static let dockerMediaType = "application/vnd.docker.distribution.manifest.v2+json"
    /// A Docker manifest list (several platforms), which is not a set either.
    public static let dockerListMediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// The annotation holding a layer's file path.
    public static let titleAnnotation = "org.opencontainers.image.title"
    /// The annotation holding when the manifest was made (RFC 3339).
    public static let createdAnnotation = "org.opencontainers.image.created"

    /// `schemaVersion`: always 2.
    public var schemaVersion: Int
    /// `mediaType`.
    public var mediaType: String?
    /// `artifactType`: what the artifact is (`application/vnd.model-sync.set.v1`).
    public var artifactType: String?
    /// `config`.
    public var config: OCIDescriptor
    /// `layers`, in order.
    public var layers: [OCIDescriptor]
    /// `annotations`.
    public var annotations: [String: String]?

    /// A v1.1 image manifest.
    public init(artifactType: String?, config: OCIDescriptor, layers: [OCIDescriptor], annotations: [String: String]?) {
        schemaVersion = 2
        mediaType = Self.mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    /// The bytes pushed to the registry, the same for the same manifest on every machine.
    public var canonicalBytes: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, integers and string maps cannot fail.
        return Array(try! encoder.encode(self))
    }

    /// `org.opencontainers.image.created`, when present and RFC 3339 (``parseCreated(_:)``).
    public var created: Date? { annotations?[Self.createdAnnotation].flatMap(Self.parseCreated) }

    /// `date` as publishes write `org.opencontainers.image.created`: RFC 3339 in UTC to the microsecond
    /// (`2026-11-30T01:09:01.048213Z`), so sets published within one second still order by time.
    public static func createdStamp(_ date: Date) -> String {
        let seconds = (date.timeIntervalSince1970).rounded(.down)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down)))
        let whole = Date(timeIntervalSince1970: seconds).rfc3339
        let fraction = String(micros)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    /// Parses a `created` annotation: RFC 3339 with or without fractional seconds (any number of digits), so
    /// sets stamped to the second by earlier publishes, or by other tools, still order; nil for anything else.
    public static func parseCreated(_ text: String) -> Date? {
        // The fraction is cut out and added back: the whole-second form is the one the RFC 3339 parser reads.
        guard let time = text.firstIndex(where: { $0 == "T" || $0 == "t" }),
              let dot = text[time...].firstIndex(of: ".") else { return Date(rfc3339: text) }
        let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let fraction = Double("0." + digits.prefix(9)),
              let whole = Date(rfc3339: String(text[..<dot] + text[digits.endIndex...])) else { return nil }
        return whole.addingTimeInterval(fraction)
    }

    /// Decodes manifest bytes a registry served for `what` (a tag or digest, for messages); a document that is
    /// not an image manifest (an index, a schema 1 manifest, not JSON) is an ``IntegrityError``.
    public static func decode(_ bytes: [UInt8], mediaType: String?, what: String) throws(IntegrityError) -> OCIImageManifest {
        if mediaType == indexMediaType || mediaType == dockerListMediaType {
            throw IntegrityError(.invalidManifest, "\(what) is an image index (several platforms), not a model set",
                                 hint: "point oci.reference and the channel at an artifact pushed by model-sync or `oras push`")
        }
        let manifest: OCIImageManifest
        do {
            manifest = try JSONDecoder().decode(OCIImageManifest.self, from: Data(bytes))
        } catch {
            throw IntegrityError(.invalidManifest, "\(what) is not an OCI image manifest: \(Self.reason(error))")
        }
        guard manifest.schemaVersion == 2 else {
            throw IntegrityError(.invalidManifest, "\(what) has schemaVersion \(manifest.schemaVersion), not 2")
        }
        if let declared = manifest.mediaType, ![Self.mediaType, dockerMediaType].contains(declared) {
            throw IntegrityError(.invalidManifest, "\(what) has mediaType \(declared.debugDescription), not an image manifest")
        }
        return manifest
    }

    /// A decoding error in a few words (which member, why), without echoing the document.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not JSON" }
        switch error {
        case .keyNotFound(let key, let context):
            return "member \((context.codingPath + [key]).map(\.stringValue).joined(separator: ".")) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "member \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON"
                : "member \(context.codingPath.map(\.stringValue).joined(separator: ".")) is invalid"
        @unknown default:
            return "not JSON"
        }
    }
}
