import Foundation
import Synchronization

/// The result of importing a directory (`model-sync import --json` prints these fields).
public struct ImportResult: Sendable, Equatable {
    /// The digest of the new manifest.
    public let manifest: Digest
    /// The number of files in the set.
    public let files: Int
    /// Their total size.
    public let bytes: UInt64
    /// File blobs that were not in the store before (the manifest object is not counted).
    public let newObjects: Int
    /// Their total size.
    public let newBytes: UInt64
    /// Files whose digest came from the stat cache (not read at all).
    public let cachedFiles: Int
}

/// One regular file found while walking a directory.
struct ScannedFile: Sendable {
    /// Relative path, `/`-separated, NFC.
    let relativePath: String
    /// Absolute path on disk (may differ from `relativePath` in normalization).
    let absolutePath: String
    let key: StatKey
    let executable: Bool
}

extension Store {
    /// Hashes every regular file under `directory` into the store and records a manifest for the set.
    ///
    /// Unchanged files (same device, inode, size, mtime and ctime as when last hashed) are not read again.
    /// Files are hashed in parallel on a bounded number of threads, each with one 1 MiB buffer.
    /// The directory itself is not modified; no generation is created.
    public func importDirectory(_ directory: String, progress: ProgressHandler? = nil) throws -> ImportResult {
        try importDirectory(directory, progress: progress, now: Date())
    }

    /// `importDirectory` with the clock the racy-file rule is measured against (tests move it forward).
    func importDirectory(_ directory: String, progress: ProgressHandler? = nil, now: Date) throws -> ImportResult {
        let root = try checkedModelsFolder(directory)
        let files = try scan(root)
        let known = try cachedDigests(of: files)
        let pending = files.indices.filter { known[$0] == nil }
        // Objects this import links, so that a failure (a full disk, most often) removes them again: an
        // import either records its whole set or leaves the store as it found it.
        let created = Mutex<[Digest]>([])
        do {
            let inserted = try insert(pending.map { files[$0] }, progress: progress, created: created)
            var insertions: [Int: ObjectStore.Insertion] = [:]
            for (item, insertion) in inserted.enumerated() { insertions[pending[item]] = insertion }

            let entries = files.enumerated().map { position, file in
                ManifestEntry(path: file.relativePath, size: file.key.size,
                              digest: known[position] ?? insertions[position]!.digest,
                              mode: file.executable ? .executable : .regular)
            }
            let manifest = try Manifest(files: entries)
            // The manifest names its files: no more readable than the least readable of them (computed only
            // when it is new: a re-import of an unchanged folder stats nothing more).
            let manifestMode = objects.contains(manifest.digest) ? nil : objects.narrowestMode(of: manifest)
            let manifestInsertion = try objects.insert(bytes: manifest.canonicalBytes, expected: manifest.digest,
                                                      mode: manifestMode)
            if manifestInsertion.created { created.withLock { $0.append(manifest.digest) } }
            try recordImport(of: manifest, from: root, insertions: insertions.map { (files[$0.key].key, $0.value) }, at: now)
            let new = inserted.filter(\.created)
            return ImportResult(manifest: manifest.digest, files: files.count, bytes: manifest.totalBytes,
                                newObjects: new.count, newBytes: new.reduce(0) { $0 + $1.size },
                                cachedFiles: known.count)
        } catch {
            for digest in created.withLock({ $0 }) { try? objects.remove(digest) }
            throw error
        }
    }

    /// Records a manifest that arrived from elsewhere (a registry, an archive) once all its blobs are stored.
    public func recordManifest(_ manifest: Manifest) throws {
        if !objects.contains(manifest.digest) {
            // The manifest names its files: no more readable than the least readable of them.
            _ = try objects.insert(bytes: manifest.canonicalBytes, expected: manifest.digest,
                                   mode: objects.narrowestMode(of: manifest))
        }
        let now = Date()
        try index.transaction {
            try index.recordObject(manifest.digest, size: UInt64(manifest.canonicalBytes.count), at: now)
            try index.recordManifest(manifest, at: now)
        }
    }

    /// Records objects written directly through `ObjectWriter` (transports).
    public func recordObjects(_ insertions: [ObjectStore.Insertion]) throws {
        let now = Date()
        try index.transaction {
            for insertion in insertions { try index.recordObject(insertion.digest, size: insertion.size, at: now) }
        }
    }

    /// `directory` made absolute, once it is known to be an existing folder.
    private func checkedModelsFolder(_ directory: String) throws -> String {
        let root = FileSystem.absolute(directory)
        guard let rootInfo = try FileSystem.status(root) else {
            throw UsageError("models folder \(root) does not exist", hint: "check --models-dir or model_sync.models_dir")
        }
        guard FileSystem.isDirectory(rootInfo) else {
            throw UsageError("\(root) is not a directory", hint: "import takes a folder of model files")
        }
        return root
    }

    /// The folder's files, in manifest order, through the walker every command shares (a store kept inside
    /// the models folder is not part of the set).
    private func scan(_ root: String) throws -> [ScannedFile] {
        try DirectoryWalker(skipping: [layout.root]).modelSetFiles(under: root).map { entry in
            ScannedFile(relativePath: entry.relativePath, absolutePath: entry.absolutePath,
                        key: StatKey(path: entry.absolutePath, stat: entry.status!), executable: entry.isExecutable)
        }
    }

    /// The stat cache's digests, by position in `files`, for unchanged files whose object is still present.
    private func cachedDigests(of files: [ScannedFile]) throws -> [Int: Digest] {
        var known: [Int: Digest] = [:]
        for (position, file) in files.enumerated() {
            if let digest = try index.cachedDigest(for: file.key), objects.contains(digest) {
                known[position] = digest
            }
        }
        return known
    }

    /// Hashes `files` into the store in parallel, reporting progress over their total size; refuses a file
    /// that changed while it was copied.
    private func insert(_ files: [ScannedFile], progress: ProgressHandler?,
                        created: borrowing Mutex<[Digest]>) throws -> [ObjectStore.Insertion] {
        let totalBytes = files.reduce(UInt64(0)) { $0 + $1.key.size }
        let done = Atomic<UInt64>(0)
        let objects = self.objects
        return try ParallelWork.map(count: files.count) { item -> ObjectStore.Insertion in
            let file = files[item]
            let insertion = try objects.insert(fileAt: file.absolutePath) { chunk in
                let completed = done.add(chunk, ordering: .relaxed).newValue
                progress?(Progress(phase: "hashing", completed: completed, total: totalBytes))
            }
            if insertion.created { created.withLock { $0.append(insertion.digest) } }
            // A file that changed while it was copied would give a manifest that matches no real state.
            guard let after = try FileSystem.status(file.absolutePath),
                  StatKey(path: file.key.path, stat: after) == file.key, insertion.size == file.key.size else {
                throw UsageError("\(file.absolutePath) changed while it was being imported",
                                 hint: "run the import again once the training job has finished writing")
            }
            return insertion
        }
    }

    /// One transaction: the new objects, the stat cache, the manifest and the import event.
    private func recordImport(of manifest: Manifest, from root: String,
                              insertions: [(key: StatKey, insertion: ObjectStore.Insertion)], at now: Date) throws {
        try index.transaction {
            for (key, insertion) in insertions {
                try index.recordObject(insertion.digest, size: insertion.size, at: now)
                // Racy-file rule (as git's index): a file changed in the last two seconds might change again
                // within the same timestamp granularity, so it is not cached. ctime counts too: mtime can be
                // set back (touch -d, rsync -t), ctime cannot.
                let changed = Double(max(key.mtimeNanoseconds, key.ctimeNanoseconds)) / 1e9
                if changed < now.timeIntervalSince1970 - 2 {
                    try index.cacheDigest(insertion.digest, for: key)
                }
            }
            try index.recordObject(manifest.digest, size: UInt64(manifest.canonicalBytes.count), at: now)
            try index.recordManifest(manifest, at: now)
            try index.recordEvent(StoreEvent(time: now, kind: .importSet, manifest: manifest.digest,
                                             reason: "imported \(root)"))
        }
    }
}
