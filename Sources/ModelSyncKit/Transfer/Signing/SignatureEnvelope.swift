import Foundation

/// A signature file: the exact bytes of a signed statement and the Ed25519 signatures over them
/// (docs/signing.md "Signature files").
///
/// ```json
/// {"signatures":[{"key_id":"sha256:…","signature":"<base64>"}],"statement":"<base64 of the statement's bytes>"}
/// ```
///
/// The statement travels as base64 of its canonical bytes, so what was signed is exactly what a user
/// extracts (`base64 -d`) and hands to `openssl pkeyutl -verify -rawin`.
public struct SignatureEnvelope: Sendable, Equatable {
    /// One signature and the key that made it.
    public struct Signature: Sendable, Equatable {
        /// `sha256:<hex of SHA-256 of the raw public key>`.
        public let keyID: String
        /// 64 bytes of Ed25519 signature.
        public let bytes: [UInt8]
    }

    /// The statement's canonical JSON bytes, as signed.
    public let statement: [UInt8]
    /// The signatures over ``statement``.
    public let signatures: [Signature]

    /// An envelope holding `statement` signed by `keys`.
    public init(statement: [UInt8], signedBy keys: [Ed25519PrivateKey]) {
        self.statement = statement
        self.signatures = keys.map { Signature(keyID: $0.publicKey.keyID, bytes: $0.sign(statement)) }
    }

    init(statement: [UInt8], signatures: [Signature]) {
        self.statement = statement
        self.signatures = signatures
    }

    /// The file's canonical bytes.
    public var encoded: [UInt8] {
        let signatures = self.signatures.map { signature -> CanonicalJSONValue in
            .object([("key_id", .string(signature.keyID)),
                     ("signature", .string(Data(signature.bytes).base64EncodedString()))])
        }
        return CanonicalJSON.encode(.object([("signatures", .array(signatures)),
                                             ("statement", .string(Data(statement).base64EncodedString()))]))
    }

    /// Parses a signature file; `name` (its path) goes into the error. Signatures are not checked here.
    public static func decode(_ bytes: [UInt8], name: String) throws(IntegrityError) -> SignatureEnvelope {
        func malformed(_ reason: String) -> IntegrityError {
            IntegrityError(.invalidSignature, "signature file \(name) is malformed: \(reason)",
                           hint: "it must be written by `model-sync publish` or `pack` (docs/signing.md)")
        }
        let value: CanonicalJSONValue
        do { value = try CanonicalJSON.parse(bytes) } catch { throw malformed("\(error)") }
        guard case .object(let members) = value else { throw malformed("not a JSON object") }
        let fields = Dictionary(members, uniquingKeysWith: { first, _ in first })
        guard case .string(let statementText)? = fields["statement"], let statement = Data(base64Encoded: statementText) else {
            throw malformed("\"statement\" is not a base64 string")
        }
        guard case .array(let items)? = fields["signatures"] else { throw malformed("\"signatures\" is not a list") }
        var signatures: [Signature] = []
        for item in items {
            guard case .object(let pairs) = item else { throw malformed("a signature is not an object") }
            let entry = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
            guard case .string(let keyID)? = entry["key_id"], case .string(let text)? = entry["signature"],
                  let signature = Data(base64Encoded: text) else {
                throw malformed("a signature lacks a \"key_id\" or a base64 \"signature\"")
            }
            signatures.append(Signature(keyID: keyID, bytes: Array(signature)))
        }
        return SignatureEnvelope(statement: Array(statement), signatures: signatures)
    }
}
