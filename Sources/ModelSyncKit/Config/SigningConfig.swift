/// `model_sync.signing`: the key a publisher signs with and the keys clients require (docs/signing.md).
public struct SigningConfig: Sendable, Hashable {
    /// `key_file`: a PEM Ed25519 private key the publisher signs with.
    public var keyFile: String?
    /// `key_env`: the variable holding the PEM text instead (a RunPod worker).
    public var keyEnv: String?
    /// `trusted_keys`: the public keys (`ed25519:<base64>`) whose signatures a client accepts; empty means
    /// signatures are not required.
    public var trustedKeys: [Ed25519PublicKey] = []
    /// `threshold` [1]: how many distinct trusted keys must have signed.
    public var threshold = 1
    /// `expires_sec` [691200, 8 days]: how long a signed release stays valid after it is issued.
    public var expiresSec: Double = 691_200

    /// The defaults: nothing signed, nothing required.
    public init() {}

    /// True when clients must check signatures.
    public var requiresSignatures: Bool { !trustedKeys.isEmpty }

    /// True when a publisher must sign.
    public var signs: Bool { keyFile != nil || keyEnv != nil }
}

extension Config {
    /// Reads `signing:`; the threshold may not exceed the number of trusted keys, and only one key source
    /// may be named.
    mutating func readSigning(_ section: SectionReader) throws(ConfigError) {
        signing.keyFile = try section.string("key_file")
        signing.keyEnv = try section.variableName("key_env")
        if signing.keyFile != nil, signing.keyEnv != nil {
            throw section.reader.error("\(section.path).key_env", section.keyLine("key_env"),
                                       "give either key_file or key_env, not both",
                                       hint: "key_env is for a worker that receives the key in a variable")
        }
        // The variable holds a private key: its value is scrubbed from every message like a token.
        if let name = signing.keyEnv { section.reader.secretVariables.names.insert(name) }
        let keys = try section.stringList("trusted_keys", expecting: "a public key ed25519:<base64>") { text in
            Ed25519PublicKey(parsing: text) == nil
                ? "expected ed25519:<base64 of 32 bytes>, as `model-sync keygen` prints it, got \"\(text.prefix(80))\"" : nil
        } ?? []
        signing.trustedKeys = keys.compactMap(Ed25519PublicKey.init(parsing:))
        if let value = try section.integer("threshold", minimum: 1) {
            // Without trusted_keys nothing is required and the threshold has no effect.
            guard signing.trustedKeys.isEmpty || value <= Int64(Set(signing.trustedKeys).count) else {
                throw section.reader.error("\(section.path).threshold", section.keyLine("threshold"),
                                           "threshold \(value) is more than the \(Set(signing.trustedKeys).count) distinct trusted_keys",
                                           hint: "list at least as many keys in trusted_keys, or lower the threshold")
            }
            signing.threshold = Int(value)
        }
        if let value = try section.seconds("expires_sec", allowZero: true) { signing.expiresSec = value }
    }
}
