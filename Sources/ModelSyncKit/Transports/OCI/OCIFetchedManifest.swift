/// A manifest as a registry served it: its exact bytes, the media type it was served with, and the
/// SHA-256 of those bytes (its digest).
public struct OCIFetchedManifest: Sendable, Equatable {
    /// The bytes, exactly as received (the digest covers them, so they must not be re-encoded).
    public let bytes: [UInt8]
    /// The `Content-Type` of the answer, without parameters (`application/vnd.oci.image.manifest.v1+json`).
    public let mediaType: String
    /// `sha256:` of ``bytes``.
    public let digest: Digest

    /// A fetched manifest.
    public init(bytes: [UInt8], mediaType: String, digest: Digest) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = digest
    }
}
