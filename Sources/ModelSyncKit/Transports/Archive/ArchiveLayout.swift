/// The two archive formats a RunPod job may return, and how entries are named in them.
///
/// A **delta archive** holds `manifest.json` at its root (the manifest's canonical bytes) and
/// `objects/sha256/<2 hex>/<64 hex>` for the blobs the client lacks. A **legacy archive** is the old
/// handler's zip of the models folder: plain files, of which only those under `extract_subdir` are taken.
public enum ArchiveFormat: String, Sendable, Equatable {
    /// `manifest.json` + `objects/sha256/…`.
    case delta
    /// Plain files under `extract_subdir`.
    case legacy
}

/// Entry names inside a delta archive.
public enum ArchiveLayout {
    /// The manifest's entry name.
    public static let manifestName = "manifest.json"
    /// The channel an archive's signed release names (docs/signing.md): separate from the registry's
    /// `latest`, since an archive's sequence is its issue time.
    public static let channel = "runpod"
    /// The largest signature file read from an archive.
    static let maxSignatureBytes: UInt64 = 1 << 20

    /// True for the names signature files take in an archive: `manifests/sha256/<hex>.sig.json` and
    /// `channels/<channel>.release.json`.
    static func isSignatureName(_ name: String, manifest: Digest? = nil) -> Bool {
        if name == SignatureFile.release(channel: channel).relativePath { return true }
        guard name.hasPrefix("manifests/sha256/"), name.hasSuffix(".sig.json") else { return false }
        return Digest.isHex64(name.dropFirst("manifests/sha256/".count).dropLast(".sig.json".count))
    }

    /// The prefix of every object entry.
    public static let objectsPrefix = "objects/sha256/"

    /// `objects/sha256/ab/ab12…` for a digest.
    public static func objectName(_ digest: Digest) -> String {
        objectsPrefix + digest.fanout + "/" + digest.hex
    }

    /// The digest an object entry is named after, or nil when the name is not `objects/sha256/<2>/<64>` with
    /// the fan-out matching the digest's first two characters.
    public static func digest(fromObjectName name: String) -> Digest? {
        guard name.hasPrefix(objectsPrefix) else { return nil }
        let rest = name.dropFirst(objectsPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2, rest[0].count == 2, Digest.isHex64(rest[1]), rest[1].hasPrefix(rest[0]) else { return nil }
        return try? Digest(parsing: Digest.prefix + rest[1])
    }

    /// The directory entries a delta archive may hold (some zip tools add them): `objects/`, `objects/sha256/`,
    /// `objects/sha256/ab/`.
    static func isDeltaDirectory(_ name: String) -> Bool {
        if name == "objects/" || name == objectsPrefix { return true }
        if ["channels/", "manifests/", "manifests/sha256/"].contains(name) { return true }
        guard name.hasPrefix(objectsPrefix), name.hasSuffix("/") else { return false }
        let fanout = name.dropFirst(objectsPrefix.count).dropLast()
        return fanout.count == 2 && fanout.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
