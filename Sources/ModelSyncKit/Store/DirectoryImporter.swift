#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
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
    /// Files left out of the set (secrets, `.modelsyncignore`), when the import filtered the folder.
    public var excluded: [ModelSetExclusion] = []
    /// The objects this import wrote, each from the very bytes it hashed (a publish that follows need not
    /// hash them again: ``TransferEngine/publish(_:to:channel:signer:freshObjects:)``).
    public var createdObjects: [Digest] = []
}

/// How an import stored a large file, as ``Store/largeFileObserver`` sees it (tests check which files were
/// copied), by relative path.
enum LargeFileImport: Sendable, Equatable {
    /// Copied into the store, hashed on the way in (a new file, or one whose samples differ from its previous
    /// object's).
    case copied(String)
    /// Hashed where it is and found in the store: nothing written.
    case foundByHashing(String)
    /// Hashed where it is, not found in the store, then copied (and hashed again on the way in).
    case hashedThenCopied(String)
}

/// One regular file found while walking a directory, kept compact: a folder of 200,000 files holds 200,000 of
/// these through the whole import (its absolute path and stat key are built when needed).
struct ScannedFile: Sendable {
    /// Relative path, `/`-separated, NFC.
    let relativePath: String
    /// The folder that holds it, on disk (one string shared by its files).
    let directory: String
    /// Its name in `directory`, as on disk.
    let name: String
    let device: UInt64
    let inode: UInt64
    let size: UInt64
    let mtimeNanoseconds: Int64
    let ctimeNanoseconds: Int64
    let executable: Bool

    init(_ entry: WalkedEntry) {
        let key = StatKey(path: "", stat: entry.status!)
        relativePath = entry.relativePath
        directory = entry.directory
        name = entry.name
        device = key.device
        inode = key.inode
        size = key.size
        mtimeNanoseconds = key.mtimeNanoseconds
        ctimeNanoseconds = key.ctimeNanoseconds
        executable = entry.isExecutable
    }

    /// Absolute path on disk (may differ from `relativePath` in normalization).
    var absolutePath: String { directory + "/" + name }

    /// What the stat cache compares, as the walk saw the file.
    var key: StatKey {
        StatKey(path: absolutePath, device: device, inode: inode, size: size,
                mtimeNanoseconds: mtimeNanoseconds, ctimeNanoseconds: ctimeNanoseconds)
    }

    /// True when `key`, taken for this file's path, describes the file as the walk saw it (both callers know
    /// the paths are equal: the stat cache's merge has just compared them, the import's recheck stats this path).
    func matchesStat(of key: StatKey) -> Bool {
        key.device == device && key.inode == inode && key.size == size && key.mtimeNanoseconds == mtimeNanoseconds
            && key.ctimeNanoseconds == ctimeNanoseconds
    }

    /// The bytewise order of `absolutePath` against `other` (negative, zero, positive), without building the
    /// path: the stat cache is merged with a large folder's files by these comparisons.
    func comparePath(with other: String) -> Int {
        let fast = other.utf8.withContiguousStorageIfAvailable { theirs -> Int? in
            directory.utf8.withContiguousStorageIfAvailable { folder -> Int? in
                name.utf8.withContiguousStorageIfAvailable { name -> Int in
                    var offset = 0
                    // The folder, the `/`, then the name, each against the same stretch of `other`.
                    func compare(_ piece: UnsafeBufferPointer<UInt8>) -> Int? {
                        let common = min(piece.count, theirs.count - offset)
                        if common > 0 {
                            let order = memcmp(piece.baseAddress!, theirs.baseAddress! + offset, common)
                            if order != 0 { return order < 0 ? -1 : 1 }
                        }
                        offset += common
                        return common < piece.count ? 1 : nil
                    }
                    if let order = compare(folder) { return order }
                    guard offset < theirs.count else { return 1 }
                    let slash = UInt8(ascii: "/")
                    if theirs[offset] != slash { return slash < theirs[offset] ? -1 : 1 }
                    offset += 1
                    if let order = compare(name) { return order }
                    return offset == theirs.count ? 0 : -1
                }
            } ?? nil
        } ?? nil
        if let fast { return fast }
        let path = absolutePath
        return path.utf8.elementsEqual(other.utf8) ? 0 : path.utf8Precedes(other) ? -1 : 1
    }

    /// True when this file's absolute path sorts before `other`'s (files of one folder: by name alone).
    func pathPrecedes(_ other: ScannedFile) -> Bool {
        if directory.utf8.elementsEqual(other.directory.utf8) { return name.utf8Precedes(other.name) }
        return absolutePath.utf8Precedes(other.absolutePath)
    }
}

extension Store {
    /// Sees how each large file of an import reached the store (tests).
    @TaskLocal static var largeFileObserver: (@Sendable (LargeFileImport) -> Void)?

    /// Hashes every regular file under `directory` into the store and records a manifest for the set.
    ///
    /// Unchanged files (same device, inode, size, mtime and ctime as when last hashed) are not read again.
    /// Files are hashed in parallel on a bounded number of threads, each with one 1 MiB buffer.
    /// The directory itself is not modified; no generation is created. With `filtered`, secrets and what the
    /// folder's `.modelsyncignore` names are left out of the set (``ModelSetFilter``), and listed in the result.
    ///
    /// `stored` is told of each large object this import creates as soon as it is durable in the store (from a
    /// worker thread, while the rest is still being hashed): a publish starts uploading it at once.
    public func importDirectory(_ directory: String, filtered: Bool = false, progress: ProgressHandler? = nil,
                                stored: (@Sendable (ManifestEntry) -> Void)? = nil) throws -> ImportResult {
        // Read before the walk stats any file: the racy-file rule compares every file's times with it.
        let hashStart = StatKey.fileClockNow()
        return try importDirectory(directory, filtered: filtered, progress: progress, now: Date(), hashStart: hashStart,
                                   stored: stored)
    }

    /// `importDirectory` with the clock the racy-file rule is measured against (tests move it forward).
    func importDirectory(_ directory: String, progress: ProgressHandler? = nil, now: Date) throws -> ImportResult {
        try importDirectory(directory, progress: progress, now: now,
                            hashStart: Int64((now.timeIntervalSince1970 * 1e9).rounded(.down)))
    }

    /// `importDirectory` with the moment hashing began (`hashStart`, nanoseconds since 1970 on the clock that
    /// stamps files), which decides which files are racy (``StatKey/isRacy(hashStart:)``).
    func importDirectory(_ directory: String, filtered: Bool = false, progress: ProgressHandler? = nil, now: Date,
                         hashStart: Int64, stored: (@Sendable (ManifestEntry) -> Void)? = nil) throws -> ImportResult {
        let root = try checkedModelsFolder(directory)
        // Temp files a killed import or pull left behind (no later step would ever name them).
        objects.removeAbandonedTemporaryFiles()
        let scanned = try scan(root, filter: filtered ? ModelSetFilter(root: root) : nil)
        var files = scanned.0
        let excluded = scanned.1
        let fileCount = files.count
        Self.returnFreedMemory()  // the walk's entries
        var (digests, vanished, previous) = try cachedDigests(of: files, under: root)
        let cachedCount = digests.count { $0 != nil }
        let pending = files.indices.filter { digests[$0] == nil }
        // Objects this import links, so that a failure (a full disk, most often) removes them again: an
        // import either records its whole set or leaves the store as it found it.
        let created = Locked<[Digest]>([])
        do {
            var inserted = try insert(files, at: pending, previous: previous, progress: progress, created: created,
                                      stored: stored)
            previous = [:]
            FaultInjection.point("import-before-index")
            for (position, insertion) in zip(pending, inserted) { digests[position] = insertion.digest }
            let newObjects = inserted.count(where: \.created)
            let newBytes = inserted.reduce(UInt64(0)) { $0 + ($1.created ? $1.size : 0) }
            inserted = []  // the digests live on in `digests`, then in the entries

            let entries = files.indices.map { position in
                ManifestEntry(path: files[position].relativePath, size: files[position].size,
                              digest: digests[position]!, mode: files[position].executable ? .executable : .regular)
            }
            digests = []
            // One transaction: the hashed files' objects and stat cache, the manifest and the import event.
            let manifest = try index.transaction { () throws -> Manifest in
                try recordHashed(files, at: pending, digests: entries, hashStart: hashStart, at: now)
                // The rows of files the walk no longer sees go with it, or the cache would only ever grow.
                try index.forgetCachedPaths(vanished)
                vanished = []
                // All the index needs of the walk is recorded: its list goes before the manifest's encoding is
                // built, which keeps the peak memory of a folder of many small files down.
                files = []
                Self.returnFreedMemory()
                // Hashed and written a piece at a time: its encoding is never held whole.
                let manifest = try Manifest(files: entries, keepingBytes: false)
                // Re-importing an unchanged set gives a manifest the store holds already: not written again.
                // A new manifest names its files: no more readable than the least readable of them.
                if !objects.contains(manifest.digest) {
                    let manifestInsertion = try objects.insert(manifest: manifest, mode: objects.narrowestMode(of: manifest))
                    if manifestInsertion.created { created.withLock { $0.append(manifest.digest) } }
                }
                try index.recordObject(manifest.digest, size: UInt64(manifest.encodedCount), at: now)
                try index.recordManifest(manifest, at: now)
                try index.recordEvent(StoreEvent(time: now, kind: .importSet, manifest: manifest.digest,
                                                 reason: "imported \(root)"))
                // Every object the transaction names is durable by now (``ObjectBatch``): a crash from here
                // on leaves either no record or the whole set's.
                FaultInjection.point("import-before-commit")
                return manifest
            }
            ObjectBatch.observer?(.recorded(count: pending.count))
            var result = ImportResult(manifest: manifest.digest, files: fileCount, bytes: manifest.totalBytes,
                                      newObjects: newObjects, newBytes: newBytes, cachedFiles: cachedCount, excluded: excluded)
            result.createdObjects = created.withLock { $0 }
            return result
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
    private func scan(_ root: String, filter: ModelSetFilter?) throws -> ([ScannedFile], [ModelSetExclusion]) {
        let (entries, excluded) = try DirectoryWalker(skipping: [layout.root]).modelSetFiles(under: root, filter: filter)
        return (entries.map { ScannedFile($0) }, excluded)
    }

    /// The stat cache's digests, by position in `files` (nil where the file must be hashed): for unchanged
    /// files whose object is still present. The cache is read in one pass in path order and merged with the
    /// files, so that a large folder costs one statement rather than one query per file.
    ///
    /// Also the paths of the cache's rows under `root` that the walk did not see and that no longer name a
    /// regular file (deleted, renamed, replaced by a folder): the import drops them. A row of a file the walk
    /// skipped but that is still there (left out of the set by `.modelsyncignore`, yet another import's) stays.
    ///
    /// And `previous`, by position, for the large files that must be hashed but whose path the cache knows with
    /// the same size: the digest it had then. Such a file may still hold those bytes (a set copied afresh), which
    /// ``ObjectStore/storedDigest(ofFileAt:size:read:)`` settles without copying. Only large files are kept:
    /// a folder of many small files pays nothing for it.
    private func cachedDigests(of files: [ScannedFile], under root: String) throws
        -> (digests: [Digest?], vanished: [String], previous: [Int: Digest]) {
        var digests = [Digest?](repeating: nil, count: files.count)
        var previous: [Int: Digest] = [:]
        // Manifest order is the order of the absolute paths too, unless a name on disk is not in NFC.
        var order = Array(files.indices)
        let inPathOrder = zip(files, files.dropFirst()).allSatisfy { $0.pathPrecedes($1) }
        if !inPathOrder { order.sort { files[$0].pathPrecedes(files[$1]) } }
        var cursor = 0
        var unseen: [String] = []
        try index.cachedEntries(under: root) { key, text in
            while cursor < order.count, files[order[cursor]].comparePath(with: key.path) < 0 { cursor += 1 }
            // The walk's files and the cache's rows are both in path order: the first file not before this row
            // is the row's file, or the row's file is gone.
            guard cursor < order.count, files[order[cursor]].comparePath(with: key.path) == 0 else {
                unseen.append(key.path)
                return
            }
            let file = files[order[cursor]]
            guard let digest = try? Digest(parsing: text) else { return }
            if file.matchesStat(of: key) {
                digests[order[cursor]] = digest
            } else if file.size == key.size && file.size > ObjectBatch.largeObjectBytes {
                previous[order[cursor]] = digest
            }
        }
        let vanished = unseen.filter { !FileSystem.isRegularFile(at: $0) }
        // An object removed since (gc, a repaired store) is hashed again. Looked up from one open `objects/`
        // folder: a stat by absolute path walked the store's whole path for every file.
        let folder = Glibc.open(layout.objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if folder >= 0 { close(folder) } }
        for position in digests.indices {
            if let digest = digests[position], !objectExists(digest, in: folder) { digests[position] = nil }
        }
        return (digests, vanished, previous)
    }

    /// `objects.contains(digest)`, looked up relative to the open `objects/` folder `folder` when there is one.
    private func objectExists(_ digest: Digest, in folder: Int32) -> Bool {
        guard folder >= 0 else { return objects.contains(digest) }
        var info = stat()
        return digest.withObjectRelativePath { fstatat(folder, $0, &info, AT_SYMLINK_NOFOLLOW) == 0 }
    }

    /// How one file reached the store: on its own (a large file, durable already) or staged in the round's
    /// ``ObjectBatch`` (durable once the round is committed).
    private enum Stored: Sendable {
        case alone(ObjectStore.Insertion)
        case staged(ticket: Int)
    }

    /// Hashes the files at `positions` of `files` into the store in parallel, reporting progress over their
    /// total size; refuses a file that changed while it was copied.
    ///
    /// Small files go through an ``ObjectBatch`` a round at a time, each round committed (synced and named)
    /// on a thread of its own while the next is hashed: every object is durable and named when this
    /// returns, with one filesystem sync per round rather than two fsyncs per file.
    private func insert(_ files: [ScannedFile], at positions: [Int], previous: [Int: Digest], progress: ProgressHandler?,
                        created: Locked<[Digest]>, stored announce: (@Sendable (ManifestEntry) -> Void)?) throws
        -> [ObjectStore.Insertion] {
        let totalBytes = positions.reduce(UInt64(0)) { $0 + files[$1].size }
        let done = Atomic<UInt64>(0)
        let objects = self.objects
        let batch = try ObjectBatch(store: objects)
        defer { batch.abandon() }  // the temp files of a round that failed
        let observer = ObjectBatch.observer
        let largeFileObserver = Store.largeFileObserver
        var insertions: [ObjectStore.Insertion] = []
        insertions.reserveCapacity(positions.count)
        // The round being committed, with how each of its files was stored.
        var committing: (commit: RoundCommit, stored: [Stored])?
        func settle() throws {
            guard let (commit, stored) = committing else { return }
            committing = nil
            let committed = try commit.wait()
            created.withLock { $0.append(contentsOf: committed.filter(\.created).map(\.digest)) }
            for outcome in stored {
                switch outcome {
                case .alone(let insertion): insertions.append(insertion)
                case .staged(let ticket): insertions.append(committed[ticket])
                }
            }
        }
        do {
            for round in ObjectBatch.rounds(count: positions.count, size: { files[positions[$0]].size }) {
                let stored = try ParallelWork.map(count: round.count) { item -> Stored in
                    let position = positions[round.lowerBound + item]
                    let file = files[position]
                    let outcome = try Self.store(file, objects: objects, batch: batch, created: created,
                                                 previous: previous[position], observer: largeFileObserver) { chunk in
                        let completed = done.add(chunk, ordering: .relaxed).newValue
                        progress?(Progress(phase: "hashing", completed: completed, total: totalBytes))
                    }
                    // A large object is durable and checked against its file once `store` returns.
                    if let announce, case .alone(let insertion) = outcome, insertion.created {
                        announce(ManifestEntry(path: file.relativePath, size: insertion.size, digest: insertion.digest))
                    }
                    return outcome
                }
                try settle()
                committing = (RoundCommit(batch.takeRound(), of: batch, observer: observer), stored)
            }
            try settle()
        } catch {
            // A round still being committed ends first, so that the objects it named are removed with the rest.
            try? settle()
            throw error
        }
        return insertions
    }

    /// Stores one file: on its own when large, else staged in `batch`; refuses a file that changed while it
    /// was copied (it would give a manifest that matches no real state).
    ///
    /// A large file that may still hold its `previous` bytes (the stat cache knew its path with this size,
    /// and samples of it match that object: ``ObjectStore/mayHold(_:fileAt:size:)``) is hashed before
    /// anything is copied, and not copied at all when the store has its object. A retrained model of the same
    /// size differs in its samples and is copied and hashed in one pass as any new file.
    private static func store(_ file: ScannedFile, objects: ObjectStore, batch: ObjectBatch, created: Locked<[Digest]>,
                              previous: Digest?, observer: (@Sendable (LargeFileImport) -> Void)?,
                              copied report: @escaping (UInt64) -> Void) throws -> Stored {
        let path = file.absolutePath
        let outcome: Stored, size: UInt64
        let hashFirst = file.size > ObjectBatch.largeObjectBytes
            && previous.map { objects.mayHold($0, fileAt: path, size: file.size) } == true
        if hashFirst,
           let digest = try objects.storedDigest(ofFileAt: path, size: file.size, read: report) {
            observer?(.foundByHashing(file.relativePath))
            (outcome, size) = (.alone(ObjectStore.Insertion(digest: digest, size: file.size, created: false)), file.size)
        } else if file.size > ObjectBatch.largeObjectBytes {
            observer?(hashFirst ? .hashedThenCopied(file.relativePath) : .copied(file.relativePath))
            // After a hash-first read that found no object, the progress of this file is counted already.
            let insertion = try objects.insert(fileAt: path, copied: hashFirst ? nil : report)
            if insertion.created { created.withLock { $0.append(insertion.digest) } }
            (outcome, size) = (.alone(insertion), insertion.size)
        } else {
            let staged = try batch.stage(fileAt: path, copied: report)
            (outcome, size) = (.staged(ticket: staged.ticket), staged.size)
        }
        guard let after = try FileSystem.status(path),
              file.matchesStat(of: StatKey(path: path, stat: after)), size == file.size else {
            throw UsageError("\(path) changed while it was being imported",
                             hint: "run the import again once the training job has finished writing")
        }
        return outcome
    }

    /// Gives memory freed in the middle of the heap back to the system (`malloc_trim`): the large lists of a
    /// folder of many small files are freed between phases, and without this the next phase's peak stacks on
    /// top of them (glibc keeps freed heap pages, and raises its mmap threshold after a large free).
    private static func returnFreedMemory() {
        _ = CModelSyncSystem_malloc_trim()
    }

    /// Records the files at `positions` of `files`, just hashed, with the digests of the entries at the same
    /// positions: their objects (of the size checked after hashing) and their stat-cache rows.
    private func recordHashed(_ files: [ScannedFile], at positions: [Int], digests entries: [ManifestEntry],
                              hashStart: Int64, at now: Date) throws {
        for position in positions {
            let key = files[position].key
            let digest = entries[position].digest
            try index.recordObject(digest, size: key.size, at: now)
            // Racy-file rule (as git's index): a file changed in the timestamp tick its hash began in could
            // change again without changing its key, so it is not cached (``StatKey/isRacy(hashStart:)``).
            if !key.isRacy(hashStart: hashStart) {
                try index.cacheDigest(digest, for: key)
            }
        }
    }
}
