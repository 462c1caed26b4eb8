internal import CModelSyncCrypto
import Foundation

/// Streaming SHA-256 through OpenSSL's EVP interface
/// ([EVP_DigestInit_ex](https://www.openssl.org/docs/man3.0/man3/EVP_DigestInit_ex.html)).
///
/// Owns one `EVP_MD_CTX`, freed in `deinit`. Confined: one task uses a hasher at a time.
///
/// ```swift
/// let hasher = SHA256()
/// hasher.update(bytes)
/// let digest = hasher.finalize()
/// ```
public final class SHA256 {
    private let context: OpaquePointer
    private var finalized = false

    /// Starts a new hash. Traps only if OpenSSL cannot allocate a context or lacks SHA-256,
    /// which means the process cannot do its job at all.
    public init() {
        guard let context = EVP_MD_CTX_new() else {
            fatalError("EVP_MD_CTX_new failed: \(CryptoError.drainQueue())")
        }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("EVP_DigestInit_ex(sha256) failed: \(CryptoError.drainQueue())")
        }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Feeds bytes into the hash.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(!finalized, "SHA256.update after finalize")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        // EVP_DigestUpdate cannot fail for an initialized software SHA-256 context.
        _ = EVP_DigestUpdate(context, base, buffer.count)
    }

    /// Feeds bytes into the hash.
    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash and returns the digest. The hasher cannot be used afterwards.
    public func finalize() -> Digest {
        precondition(!finalized, "SHA256.finalize called twice")
        finalized = true
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &output, &length)
        return Digest(bytes: output.prefix(Int(length)))
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

/// Errors from OpenSSL, with the whole error queue drained into the message.
public struct CryptoError: ModelSyncError {
    public let message: String
    public var category: ErrorCategory { .unexpected }

    /// Reads and clears this thread's OpenSSL error queue
    /// ([ERR_get_error](https://www.openssl.org/docs/man3.0/man3/ERR_get_error.html)).
    static func drainQueue() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
    }
}
