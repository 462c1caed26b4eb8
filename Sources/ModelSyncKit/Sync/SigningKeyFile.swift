import Foundation

/// `keygen`: a new Ed25519 private key written as PKCS#8 PEM, mode 0600, never over an existing file.
public enum SigningKeyFile {
    /// Generates a key, writes it to `path` durably (a temp file linked into place, so an existing file is
    /// never replaced, even by a racing `keygen`) and returns its public key. Throws ``UsageError`` (exit 2)
    /// when `path` exists.
    public static func create(at path: String) throws -> Ed25519PublicKey {
        let target = FileSystem.absolute(path)
        if FileManager.default.fileExists(atPath: target) {
            throw UsageError("\(path) already exists; keygen never overwrites a key",
                             hint: "choose another --out path, or remove the old key once no publisher uses it")
        }
        let key = Ed25519PrivateKey.generate()
        let file = try DurableFile(in: (target as NSString).deletingLastPathComponent,
                                   prefix: "." + (target as NSString).lastPathComponent + ".tmp-")
        try file.write(key.pemBytes)
        guard try file.commit(to: target, mode: 0o600, placement: .keepExisting, exactMode: true) else {
            throw UsageError("\(path) already exists; keygen never overwrites a key",
                             hint: "choose another --out path")
        }
        return key.publicKey
    }
}
