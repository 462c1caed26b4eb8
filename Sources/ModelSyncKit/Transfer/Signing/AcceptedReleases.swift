import Foundation

/// The newest signed release this client accepted per channel, so that a registry (or archive) rolled back
/// to an older release is refused (docs/signing.md "What clients enforce").
///
/// Kept in `<store>/releases.json`, written with `DurableFile`, rather than among the index's named values:
/// `fsck --repair` may rebuild the index from the disk alone, and this memory must survive that.
public struct AcceptedReleases: Sendable {
    /// What is remembered of one accepted release.
    public struct Entry: Codable, Sendable, Equatable {
        public let manifest: Digest
        public let sequence: Int
        public let issued: String
        public let expires: String
        /// The trusted keys whose signatures were accepted.
        public let keyIDs: [String]

        enum CodingKeys: String, CodingKey {
            case manifest, sequence, issued, expires
            case keyIDs = "key_ids"
        }
    }

    /// The file's path.
    public let path: String

    /// The record under store root `storeRoot`.
    public init(storeRoot: String) { path = storeRoot + "/releases.json" }

    /// Every channel's entry; empty when the file does not exist. A damaged file is an integrity error, not a
    /// reason to forget (forgetting would let a rolled-back registry through).
    public func all() throws -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        do {
            return try JSONCoding.decode([String: Entry].self, from: data)
        } catch {
            throw IntegrityError(.invalidSignature, "\(path) cannot be read: \(error)",
                                 hint: "it records the newest release accepted per channel; remove it only if you "
                                     + "trust the registry's current state")
        }
    }

    /// The entry for `channel`, if any.
    public func entry(_ channel: String) throws -> Entry? { try all()[channel] }

    /// Remembers `release` as accepted, signed by `keyIDs` (only ever moving forward).
    public func record(_ release: ReleaseStatement, keyIDs: [String]) throws {
        var entries = try all()
        if let known = entries[release.channel], known.sequence > release.sequence { return }
        entries[release.channel] = Entry(manifest: release.manifest, sequence: release.sequence,
                                         issued: release.issued.rfc3339, expires: release.expires.rfc3339, keyIDs: keyIDs)
        try DurableFile.write(Array(try JSONCoding.encode(entries).utf8), to: path)
    }
}
