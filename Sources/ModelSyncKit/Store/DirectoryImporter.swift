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
        try importDirectory(directory, progress: progress, now: Date())
    }

    /// `importDirectory` with the clock the racy-file rule is measured against (tests move it forward).
    func importDirectory(_ directory: String, progress: ProgressHandler? = nil, now: Date) throws -> ImportResult {
        let root = FileSystem.absolute(directory)
        guard let rootInfo = try FileSystem.status(root) else {
            throw UsageError("models folder \(root) does not exist", hint: "check --models-dir or model_sync.models_dir")
        }
        guard FileSystem.isDirectory(rootInfo) else {
            throw UsageError("\(root) is not a directory", hint: "import takes a folder of model files")
        }
        let realRoot = (try? FileManager.default.destinationOfSymbolicLink(atPath: root)).map {
            $0.hasPrefix("/") ? $0 : FileSystem.absolute((root as NSString).deletingLastPathComponent + "/" + $0)
        } ?? root
        var files: [ScannedFile] = []
        try scan(directory: realRoot, relative: "", into: &files)
        files.sort { Array($0.relativePath.utf8).lexicographicallyPrecedes(Array($1.relativePath.utf8)) }

        // The stat cache answers for unchanged files whose object is still present.
        var known: [Int: Digest] = [:]
        for (position, file) in files.enumerated() {
            if let digest = try index.cachedDigest(for: file.key), objects.contains(digest) {
                known[position] = digest
            }
        }
        let pending = files.indices.filter { known[$0] == nil }
        let totalBytes = pending.reduce(UInt64(0)) { $0 + files[$1].key.size }
        let done = Atomic<UInt64>(0)
        let objects = self.objects
        let snapshot = files
        let inserted = try ParallelWork.map(count: pending.count) { item -> ObjectStore.Insertion in
            let file = snapshot[pending[item]]
            let insertion = try objects.insert(fileAt: file.absolutePath) { chunk in
                let completed = done.add(chunk, ordering: .relaxed).newValue
                progress?(Progress(phase: "hashing", completed: completed, total: totalBytes))
            }
            // A file that changed while it was copied would give a manifest that matches no real state.
            guard let after = try FileSystem.status(file.absolutePath),
                  StatKey(path: file.key.path, stat: after) == file.key, insertion.size == file.key.size else {
                throw UsageError("\(file.absolutePath) changed while it was being imported",
                                 hint: "run the import again once the training job has finished writing")
            }
            return insertion
        }

        var entries: [ManifestEntry] = []
        var newObjects = 0
        var newBytes: UInt64 = 0
        var insertions: [Int: ObjectStore.Insertion] = [:]
        for (item, insertion) in inserted.enumerated() {
            insertions[pending[item]] = insertion
            if insertion.created {
                newObjects += 1
                newBytes += insertion.size
            }
        }
        for (position, file) in files.enumerated() {
            let digest = known[position] ?? insertions[position]!.digest
            entries.append(ManifestEntry(path: file.relativePath, size: file.key.size, digest: digest,
                                         mode: file.executable ? .executable : .regular))
        }
        let manifest = try Manifest(files: entries)
        let manifestBytes = manifest.canonicalBytes
        _ = try objects.insert(bytes: manifestBytes, expected: manifest.digest)

        try index.transaction {
            for (position, insertion) in insertions {
                try index.recordObject(insertion.digest, size: insertion.size, at: now)
                let key = files[position].key
                // Racy-file rule (as git's index): a file changed in the last two seconds might change again
                // within the same timestamp granularity, so it is not cached. ctime counts too: mtime can be
                // set back (touch -d, rsync -t), ctime cannot.
                let changed = Double(max(key.mtimeNanoseconds, key.ctimeNanoseconds)) / 1e9
                if changed < now.timeIntervalSince1970 - 2 {
                    try index.cacheDigest(insertion.digest, for: key)
                }
            }
            try index.recordObject(manifest.digest, size: UInt64(manifestBytes.count), at: now)
            try index.recordManifest(manifest, at: now)
            try index.recordEvent(StoreEvent(time: now, kind: .importSet, manifest: manifest.digest,
                                             reason: "imported \(root)"))
        }
        return ImportResult(manifest: manifest.digest, files: files.count, bytes: manifest.totalBytes,
                            newObjects: newObjects, newBytes: newBytes, cachedFiles: known.count)
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

    private func scan(directory: String, relative: String, into files: inout [ScannedFile]) throws {
        for name in try FileSystem.list(directory) {
            let path = directory + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            guard let info = try FileSystem.linkStatus(path) else {
                // Names are decoded as UTF-8: an undecodable one comes back with U+FFFD and names no file.
                if name.unicodeScalars.contains("\u{FFFD}") {
                    throw UsageError("a file name in \(directory) is not valid UTF-8 (shown as \"\(name)\")",
                                     hint: "rename it: manifests carry UTF-8 paths")
                }
                continue // removed while we scanned
            }
            if path == layout.root { continue } // a store kept inside the models folder is not part of the set
            if FileSystem.isDirectory(info) {
                try scan(directory: path, relative: relativePath, into: &files)
            } else if FileSystem.isRegular(info) {
                let normalized = relativePath.precomposedStringWithCanonicalMapping
                files.append(ScannedFile(relativePath: normalized, absolutePath: path,
                                         key: StatKey(path: path, stat: info),
                                         executable: (info.st_mode & S_IXUSR) != 0))
            } else if FileSystem.isSymlink(info) {
                throw UsageError("\(path) is a symbolic link: model-sync stores regular files only",
                                 hint: "replace the link with the file it points to, or move it out of the models folder")
            } else {
                throw UsageError("\(path) is not a regular file (device, socket or pipe)",
                                 hint: "move it out of the models folder")
            }
        }
    }
}
