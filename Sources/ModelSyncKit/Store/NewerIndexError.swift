/// The index was written by a newer model-sync: its schema version is beyond every migration this one
/// knows. Every command refuses it (exit 2), `fsck --repair` included: rebuilding it would lose the pins
/// and the history that the newer version keeps there.
public struct NewerIndexError: ModelSyncError {
    /// The index file.
    public let path: String
    /// The schema version recorded in the file (`PRAGMA user_version`).
    public let version: Int
    /// The newest schema version this model-sync can read and write.
    public let supportedVersion: Int

    public var category: ErrorCategory { .usage }

    public var message: String {
        "\(path) has schema version \(version); this model-sync knows up to \(supportedVersion)"
    }

    public var hint: String? {
        "the store was last used by a newer model-sync: run that version (the index was left untouched)"
    }
}
