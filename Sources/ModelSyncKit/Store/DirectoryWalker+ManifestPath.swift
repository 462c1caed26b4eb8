extension DirectoryWalker {
    /// The regular files below `root` that can form a model set: ``modelFiles(under:)`` (regular files with
    /// UTF-8 names), then the manifest's path rules (``ManifestPath``) on each relative path, so that `import`
    /// and `pack` refuse, naming the file, exactly what a manifest could not carry (exit 2, not 3).
    func modelSetFiles(under root: String) throws -> [WalkedEntry] {
        let found = try modelFiles(under: root)
        for entry in found {
            if let problem = ManifestPath.problem(with: entry.relativePath) {
                throw UsageError("\(entry.absolutePath.debugDescription) cannot be part of a model set: \(problem)",
                                 hint: "rename it, or move it out of the models folder")
            }
        }
        return found
    }
}
