#if canImport(Glibc)
internal import Glibc
#endif
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
        // Read before the walk stats any file: the racy-file rule compares every file's times with it.
        let hashStart = StatKey.fileClockNow()
        return try importDirectory(directory, progress: progress, now: Date(), hashStart: hashStart)
    }

    /// `importDirectory` with the clock the racy-file rule is measured against (tests move it forward).
    func importDirectory(_ directory: String, progress: ProgressHandler? = nil, now: Date) throws -> ImportResult {
        try importDirectory(directory, progress: progress, now: now,
                            hashStart: Int64((now.timeIntervalSince1970 * 1e9).rounded(.down)))
    }

    /// `importDirectory` with the moment hashing began (`hashStart`, nanoseconds since 1970 on the clock that
    /// stamps files), which decides which files are racy (``StatKey/isRacy(hashStart:)``).
    func importDirectory(_ directory: String, progress: ProgressHandler? = nil, now: Date,
                         hashStart: Int64) throws -> ImportResult {
        let root = try checkedModelsFolder(directory)
        let files = try scan(root)
        var digests = try cachedDigests(of: files)
        let cachedCount = digests.count { $0 != nil }
        let pending = files.indices.filter { digests[$0] == nil }
        // Objects this import links, so that a failure (a full disk, most often) removes them again: an
        // import either records its whole set or leaves the store as it found it.
        let created = Mutex<[Digest]>([])
        do {
            let inserted = try insert(pending.map { files[$0] }, progress: progress, created: created)
            for (position, insertion) in zip(pending, inserted) { digests[position] = insertion.digest }

            let entries = files.indices.map { position in
                ManifestEntry(path: files[position].relativePath, size: files[position].key.size,
                              digest: digests[position]!, mode: files[position].executable ? .executable : .regular)
            }
            digests = []
            let manifest = try Manifest(files: entries)
            // Re-importing an unchanged set gives a manifest the store holds already: not written again.
            if !objects.contains(manifest.digest) {
                let manifestInsertion = try objects.insert(bytes: manifest.canonicalBytes, expected: manifest.digest)
                if manifestInsertion.created { created.withLock { $0.append(manifest.digest) } }
            }
            try recordImport(of: manifest, from: root, keys: pending.lazy.map { files[$0].key }, insertions: inserted,
                             hashStart: hashStart, at: now)
            let new = inserted.filter(\.created)
            return ImportResult(manifest: manifest.digest, files: files.count, bytes: manifest.totalBytes,
                                newObjects: new.count, newBytes: new.reduce(0) { $0 + $1.size },
                                cachedFiles: cachedCount)
        } catch {
            for digest in created.withLock({ $0 }) { try? objects.remove(digest) }
            throw error
        }
    }

    /// Records a manifest that arrived from elsewhere (a registry, an archive) once all its blobs are stored.
    public func recordManifest(_ manifest: Manifest) throws {
        _ = try objects.insert(bytes: manifest.canonicalBytes, expected: manifest.digest)
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

    /// The stat cache's digests, by position in `files` (nil where the file must be hashed): for unchanged
    /// files whose object is still present. The cache is read in one pass in path order and merged with the
    /// files, so that a large folder costs one statement rather than one query per file.
    private func cachedDigests(of files: [ScannedFile]) throws -> [Digest?] {
        var digests = [Digest?](repeating: nil, count: files.count)
        guard !files.isEmpty else { return digests }
        // Manifest order is the order of the absolute paths too, unless a name on disk is not in NFC.
        var order = Array(files.indices)
        let inPathOrder = zip(files, files.dropFirst()).allSatisfy {
            $0.absolutePath.utf8Precedes($1.absolutePath)
        }
        if !inPathOrder { order.sort { files[$0].absolutePath.utf8Precedes(files[$1].absolutePath) } }
        var cursor = 0
        try index.cachedEntries(from: files[order[0]].absolutePath, through: files[order[order.count - 1]].absolutePath) { key, text in
            while cursor < order.count, files[order[cursor]].absolutePath.utf8Precedes(key.path) { cursor += 1 }
            guard cursor < order.count, files[order[cursor]].key == key, let digest = try? Digest(parsing: text) else { return }
            digests[order[cursor]] = digest
        }
        // An object removed since (gc, a repaired store) is hashed again. Looked up from one open `objects/`
        // folder: a stat by absolute path walked the store's whole path for every file.
        let folder = Glibc.open(layout.objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if folder >= 0 { close(folder) } }
        for position in digests.indices {
            if let digest = digests[position], !objectExists(digest, in: folder) { digests[position] = nil }
        }
        return digests
    }

    /// `objects.contains(digest)`, looked up relative to the open `objects/` folder `folder` when there is one.
    private func objectExists(_ digest: Digest, in folder: Int32) -> Bool {
        guard folder >= 0 else { return objects.contains(digest) }
        var info = stat()
        return fstatat(folder, digest.objectRelativePath, &info, AT_SYMLINK_NOFOLLOW) == 0
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
    private func recordImport(of manifest: Manifest, from root: String, keys: some Sequence<StatKey>,
                              insertions: [ObjectStore.Insertion], hashStart: Int64, at now: Date) throws {
        try index.transaction {
            for (key, insertion) in zip(keys, insertions) {
                try index.recordObject(insertion.digest, size: insertion.size, at: now)
                // Racy-file rule (as git's index): a file changed in the timestamp tick its hash began in could
                // change again without changing its key, so it is not cached (``StatKey/isRacy(hashStart:)``).
                if !key.isRacy(hashStart: hashStart) {
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
