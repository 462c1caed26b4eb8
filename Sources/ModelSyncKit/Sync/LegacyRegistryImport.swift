import Foundation

/// `pull` from a registry still in the old script's layout (the model files themselves under
/// `repo_models_subdir`, no channel): each file is hashed into the store on its way out of git, the set's
/// manifest is built from them and activated like any other — health check, rollback and all.
struct LegacyRegistryImport {
    let workspace: Workspace
    let force: Bool

    /// Imports `files` of the registry's commit into `store` (which holds the lock) and activates the set.
    func pull(_ files: [LegacyLayout.File], from source: GitRegistrySource, into store: Store,
              progress: ProgressHandler?) throws -> ActivationResult {
        for file in files {
            if let problem = ManifestPath.problem(with: file.path) {
                throw UsageError("the registry's \(file.repositoryPath) cannot be part of a model set: \(problem)",
                                 hint: "rename it in the registry, or publish from the new layout with `model-sync publish`")
            }
        }
        var insertions: [ObjectStore.Insertion] = []
        var entries: [ManifestEntry] = []
        var done: UInt64 = 0
        for file in files {
            let writer = try ObjectWriter(store: store.objects)
            do {
                _ = try source.registry.repository.readBlob(file.blob) { chunk in
                    try writer.write(chunk)
                    done += UInt64(chunk.count)
                    progress?(Progress(phase: "importing", completed: done, total: nil))
                }
                let insertion = try writer.commit()
                insertions.append(insertion)
                entries.append(ManifestEntry(path: file.path, size: insertion.size, digest: insertion.digest, mode: .regular))
            } catch {
                writer.abandon()
                try? store.recordObjects(insertions)
                throw error
            }
        }
        try store.recordObjects(insertions)
        let manifest = try Manifest(files: entries)
        try store.recordManifest(manifest)
        var result = try Generations(store: store, modelsDir: workspace.modelsDir)
            .activate(manifest.digest, options: workspace.activationOptions(force: force))
        let created = insertions.filter(\.created)
        result.fetchedObjects = created.count
        result.fetchedBytes = created.reduce(0) { $0 + $1.size }
        try store.recordCompleted(StoreEvent(kind: .pull, generation: result.generation, manifest: manifest.digest,
                                             reason: "\(result.result.rawValue) from the old layout of commit \(source.commit) "
                                                 + "(\(files.count) files; the first publish converts the registry)"))
        return result
    }
}
