/// The registry layout of the old script: the model files themselves, committed under `repo_models_subdir`
/// (`models/eth/model.onnx`), with no manifest and no channel. `pull` imports such a tree as a set, and the
/// first `publish` converts the registry (DESIGN.md "Git registry"; docs/migration.md).
public struct LegacyLayout: Sendable {
    /// One model file of an old-layout tree.
    public struct File: Sendable, Equatable {
        /// Its path below `repo_models_subdir`.
        public let path: String
        /// Its path in the repository.
        public let repositoryPath: String
        /// The git blob.
        public let blob: GitOID
    }

    /// The layout's subdirectory.
    public let layout: RegistryLayout

    /// The old layout of the registry whose new layout is `layout`.
    public init(layout: RegistryLayout) {
        self.layout = layout
    }

    /// The README a converted registry keeps for humans, at `<subdir>/README.md`.
    public var readmePath: String { layout.subdir.isEmpty ? "README.md" : layout.subdir + "/README.md" }

    /// The model files of `commit` in the old layout: the blobs under the subdirectory that are not part of
    /// the new layout (channels, manifests, objects) nor git's own files. Empty when the commit has a channel
    /// (it is in the new layout) or nothing under the subdirectory.
    public func files(of registry: GitRegistry, in commit: GitOID) throws -> [File] {
        guard try registry.channel(RegistryLayout.latest, in: commit) == nil else { return [] }
        let prefix = layout.subdir.isEmpty ? "" : layout.subdir + "/"
        let blobs = layout.subdir.isEmpty ? try registry.repository.allBlobs(inCommit: commit)
                                          : try registry.repository.blobs(under: layout.subdir, inCommit: commit)
        return blobs.compactMap { path, blob in
            let first = path.split(separator: "/").first.map(String.init) ?? path
            if ["channels", "manifests", "objects"].contains(first) { return nil }
            if layout.subdir.isEmpty && (first.hasPrefix(".git") || path == "README.md") { return nil }
            return File(path: path, repositoryPath: prefix + path, blob: blob)
        }.sorted { $0.path.utf8Precedes($1.path) }
    }

    /// The tree changes that convert `commit` from the old layout: every old file removed (its bytes now live
    /// under `objects/`) and a README saying what the repository has become. Empty when there is nothing to
    /// convert.
    func conversion(of registry: GitRegistry, in commit: GitOID?) throws -> [GitTreeChange] {
        guard let commit else { return [] }
        let files = try files(of: registry, in: commit)
        guard !files.isEmpty else { return [] }
        let readme = try registry.repository.createBlob(bytes: Array(Self.readme(layout).utf8))
        return files.filter { $0.repositoryPath != readmePath }.map { .remove(path: $0.repositoryPath) }
            + [.upsert(path: readmePath, blob: readme)]
    }

    static func readme(_ layout: RegistryLayout) -> String {
        let base = layout.subdir.isEmpty ? "" : layout.subdir + "/"
        return """
            # Model registry (model-sync)

            This repository is a model-sync registry. It used to hold the model files themselves under
            `\(base.isEmpty ? "." : base)`; model-sync converted it on its first publish.

            - `\(base)channels/latest` names the newest published set: `sha256:<digest>` of its manifest.
            - `\(base)manifests/sha256/<hex>.json` lists a set's files: path, size, SHA-256, mode.
            - `\(base)objects/sha256/ab/<hex>` holds each file's bytes (or a Git LFS pointer to them), named by
              its SHA-256.

            Get the models with `model-sync pull` (it verifies every file and activates the set atomically),
            list the published sets with `model-sync versions`. Do not edit these files by hand.

            """
    }
}
