/// What changed between two manifests, path by path; each list sorted bytewise like a manifest's files.
///
/// ```swift
/// let diff = ManifestDiff(from: yesterday, to: today)
/// diff.added    // ["eth/model.onnx"]
/// diff.changed  // ["btc/model.onnx"]  (same path, other content or mode)
/// ```
public struct ManifestDiff: Hashable, Sendable {
    /// Paths in the new manifest only.
    public let added: [String]
    /// Paths in the old manifest only.
    public let removed: [String]
    /// Paths in both whose digest or mode differs.
    public let changed: [String]

    /// Compares `old` with `new`.
    public init(from old: Manifest, to new: Manifest) {
        let oldByPath = Dictionary(uniqueKeysWithValues: old.files.map { ($0.path, $0) })
        let newByPath = Dictionary(uniqueKeysWithValues: new.files.map { ($0.path, $0) })
        // Manifest files are already sorted bytewise, so filtering keeps that order.
        added = new.files.filter { oldByPath[$0.path] == nil }.map(\.path)
        removed = old.files.filter { newByPath[$0.path] == nil }.map(\.path)
        changed = new.files.filter { entry in
            guard let before = oldByPath[entry.path] else { return false }
            return before.digest != entry.digest || before.mode != entry.mode
        }.map(\.path)
    }

    /// True when both manifests list the same files with the same content and modes.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}
