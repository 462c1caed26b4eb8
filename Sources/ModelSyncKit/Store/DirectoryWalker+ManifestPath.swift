extension DirectoryWalker {
    /// The regular files below `root` that can form a model set: ``modelFiles(under:)`` (regular files with
    /// UTF-8 names), then the manifest's path rules (``ManifestPath``) on each relative path, so that `import`
    /// and `pack` refuse, naming the file, exactly what a manifest could not carry (exit 2, not 3).
    func modelSetFiles(under root: String) throws -> [WalkedEntry] {
        try modelSetFiles(under: root, filter: nil).files
    }

    /// The same, after leaving out what `filter` excludes (secrets, the ignore file's patterns): excluded
    /// entries are not checked at all, so an ignored link or pipe does not stop the import.
    func modelSetFiles(under root: String, filter: ModelSetFilter?)
        throws -> (files: [WalkedEntry], excluded: [ModelSetFilter.Exclusion]) {
        // Filtered in place: a second array of a large folder's entries was a large part of an import's peak.
        var files = try entries(under: root)
        var excluded: [ModelSetFilter.Exclusion] = []
        if let filter {
            var matcher = filter.matcher()
            files.removeAll { entry in
                guard let exclusion = matcher.exclusion(for: entry.relativePath) else { return false }
                excluded.append(exclusion)
                return true
            }
        }
        for entry in files {
            try Self.refuseUnlessRegular(entry)
            if let problem = ManifestPath.problem(with: entry.relativePath) {
                throw UsageError("\(entry.absolutePath.debugDescription) cannot be part of a model set: \(problem)",
                                 hint: "rename it, or move it out of the models folder")
            }
        }
        return (files, excluded)
    }
}
