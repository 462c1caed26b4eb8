internal import CModelSyncCrypto
import Foundation

/// An Ed25519 public key (RFC 8032): the 32 raw bytes, written `ed25519:<base64>` in configuration and output.
public struct Ed25519PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 raw bytes.
    public let raw: [UInt8]

    /// A key from its 32 raw bytes; nil for any other length.
    public init?(raw: [UInt8]) {
        guard raw.count == 32 else { return nil }
        self.raw = raw
    }

    /// Parses `ed25519:<base64 of the 32 raw bytes>`; nil when the text is not that.
    public init?(parsing text: String) {
        let prefix = "ed25519:"
        guard text.hasPrefix(prefix), let data = Data(base64Encoded: String(text.dropFirst(prefix.count))) else { return nil }
        self.init(raw: Array(data))
    }

    /// `ed25519:<base64>`.
    public var description: String { "ed25519:" + Data(raw).base64EncodedString() }

    /// `sha256:<hex of SHA-256 of the raw key>`: the name signatures carry.
    public var keyID: String { SHA256.hash(raw).description }

    /// True when `signature` is this key's Ed25519 signature over exactly `message`
    /// ([EVP_DigestVerify](https://www.openssl.org/docs/man3.0/man3/EVP_DigestVerify.html), no pre-hash).
    public func isValidSignature(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard signature.count == 64,
              let key = raw.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) })
        else { ERR_clear_error(); return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { ERR_clear_error(); return false }
        let result = message.withUnsafeBufferPointer { text in
            signature.withUnsafeBufferPointer { EVP_DigestVerify(context, $0.baseAddress, 64, text.baseAddress, text.count) }
        }
        ERR_clear_error()
        return result == 1
    }
}

/// Why a private key could not be read. The message never holds any of the key's bytes.
public struct Ed25519KeyError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the text, in words that reveal nothing of it.
    public let reason: String
    public var description: String { reason }
}

/// An Ed25519 private key held by OpenSSL (`EVP_PKEY`), read from or written as PKCS#8 PEM — the form
/// `openssl genpkey -algorithm ed25519` writes.
///
/// The one owner of the key's bytes: they leave only through ``pemBytes`` (for `keygen`'s file). Immutable
/// after creation, and OpenSSL allows concurrent signing with one `EVP_PKEY`, hence `@unchecked Sendable`.
public final class Ed25519PrivateKey: @unchecked Sendable {
    private let key: OpaquePointer

    private init(key: OpaquePointer) { self.key = key }

    deinit { EVP_PKEY_free(key) }

    /// A new random key ([EVP_PKEY_keygen](https://www.openssl.org/docs/man3.0/man3/EVP_PKEY_keygen.html)).
    /// Traps only when OpenSSL cannot generate one at all.
    public static func generate() -> Ed25519PrivateKey {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
            fatalError("EVP_PKEY_CTX_new_id(ED25519) failed: \(CryptoError.drainQueue())")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else {
            fatalError("Ed25519 key generation failed: \(CryptoError.drainQueue())")
        }
        return Ed25519PrivateKey(key: key)
    }

    /// Reads a PEM private key; throws when the text is not PEM or holds another kind of key.
    public convenience init(pem: [UInt8]) throws(Ed25519KeyError) {
        guard let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw Ed25519KeyError(reason: "out of memory")
        }
        defer { BIO_free(bio) }
        // A passphrase-protected key would prompt on the terminal: the callback refuses instead.
        guard let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil) else {
            ERR_clear_error()
            throw Ed25519KeyError(reason: "it is not an unencrypted PEM private key")
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(key)
            throw Ed25519KeyError(reason: "it holds a private key of another algorithm, not Ed25519")
        }
        self.init(key: key)
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    public var pemBytes: [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new failed") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1 else {
            fatalError("PEM_write_bio_PrivateKey failed: \(CryptoError.drainQueue())")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = cmodelsync_bio_mem_data(bio, &data)
        guard let data, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// The matching public key.
    public var publicKey: Ed25519PublicKey {
        var raw = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, let publicKey = Ed25519PublicKey(raw: raw) else {
            fatalError("EVP_PKEY_get_raw_public_key failed: \(CryptoError.drainQueue())")
        }
        return publicKey
    }

    /// The 64-byte Ed25519 signature over exactly `message` (PureEdDSA: `EVP_DigestSign` with no digest).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else {
            fatalError("EVP_DigestSignInit failed: \(CryptoError.drainQueue())")
        }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        let result = message.withUnsafeBufferPointer { EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count) }
        guard result == 1, length == 64 else { fatalError("EVP_DigestSign failed: \(CryptoError.drainQueue())") }
        return signature
    }
}
