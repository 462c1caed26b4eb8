import Foundation

/// Streaming SHA-256, the store's content digest, through OpenSSL (``EVPHasher``).
///
/// Confined: one task uses a hasher at a time.
///
/// ```swift
/// let hasher = SHA256()
/// hasher.update(bytes)
/// let digest = hasher.finalize()
/// ```
public final class SHA256 {
    private let hasher = EVPHasher(.sha256)

    /// Starts a new hash.
    public init() {}

    /// Feeds bytes into the hash.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        hasher.update(buffer)
    }

    /// Feeds bytes into the hash.
    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash and returns the digest. The hasher cannot be used afterwards.
    public func finalize() -> Digest {
        Digest(bytes: hasher.finalize())
    }

    /// The digest of a byte buffer in one call.
    public static func hash(_ bytes: some ContiguousBytes) -> Digest {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

@available(*, unavailable)
extension SHA256: Sendable {}
