internal import CModelSyncCrypto

/// A streaming hash through OpenSSL's EVP interface, for any of the algorithms the project uses
/// ([EVP_DigestInit_ex](https://www.openssl.org/docs/man3.0/man3/EVP_DigestInit_ex.html)).
///
/// The one owner of an `EVP_MD_CTX` in the project: ``SHA256`` (store digests) and the git loose-object
/// writer (SHA-1 object ids) both hash through it. The context is freed in `deinit`. Confined: one task
/// uses a hasher at a time.
///
/// ```swift
/// let hasher = EVPHasher(.sha1)
/// hasher.update(buffer)
/// let bytes = hasher.finalize()  // 20 bytes
/// ```
final class EVPHasher {
    /// The hash functions OpenSSL computes for the project.
    enum Algorithm {
        /// SHA-256: content digests of the store.
        case sha256
        /// SHA-1: git object ids.
        case sha1

        /// The EVP method (`EVP_sha256()` returns a static object: nothing to free).
        fileprivate var method: OpaquePointer {
            switch self {
            case .sha256: return EVP_sha256()
            case .sha1: return EVP_sha1()
            }
        }
    }

    /// The algorithm this hasher computes.
    let algorithm: Algorithm
    private let context: OpaquePointer
    private var finalized = false

    /// Starts a new hash. Traps only if OpenSSL cannot allocate a context or lacks the algorithm, which
    /// means the process cannot do its job at all.
    init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        guard let context = EVP_MD_CTX_new() else {
            fatalError("EVP_MD_CTX_new failed: \(CryptoError.drainQueue())")
        }
        self.context = context
        guard EVP_DigestInit_ex(context, algorithm.method, nil) == 1 else {
            fatalError("EVP_DigestInit_ex(\(algorithm)) failed: \(CryptoError.drainQueue())")
        }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Feeds bytes into the hash.
    func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(!finalized, "EVPHasher.update after finalize")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        // EVP_DigestUpdate cannot fail for an initialized software SHA-1 or SHA-256 context.
        _ = EVP_DigestUpdate(context, base, buffer.count)
    }

    /// Finishes the hash and returns its bytes (32 for SHA-256, 20 for SHA-1). Call once.
    func finalize() -> [UInt8] {
        precondition(!finalized, "EVPHasher.finalize called twice")
        finalized = true
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &output, &length)
        return Array(output.prefix(Int(length)))
    }
}

@available(*, unavailable)
extension EVPHasher: Sendable {}
