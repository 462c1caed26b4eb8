#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// A model-sync store: the object files, the SQLite index, and (for writers) the lock.
///
/// Open it with `Store.open(at:lockTimeout:)` to write (the lock is held until the store is released) or
/// `Store.openForReading(at:)` to read without the lock (`status`, `fsck` without `--repair`).
/// Confined: one task uses a store at a time.
public final class Store {
    public let layout: StoreLayout
    public let objects: ObjectStore
    let index: Index
    private let lock: StoreLock?

    private init(layout: StoreLayout, index: Index, lock: StoreLock?) {
        self.layout = layout
        self.objects = ObjectStore(layout: layout)
        self.index = index
        self.lock = lock
    }

    /// Opens (creating if needed) the store at `root` for writing, waiting up to `lockTimeout` seconds for the lock.
    ///
    /// Before it returns, an index that lost rows is brought back in step with the disk (see
    /// `reconcileWithDisk(modelsDir:)`); `modelsDir`, when given, says which generation is active.
    public static func open(at root: String, lockTimeout: Double, modelsDir: String? = nil) throws -> Store {
        let layout = StoreLayout(root: FileSystem.absolute(root))
        try FileSystem.makeDirectories(layout.root)
        let lock = try StoreLock(path: layout.lockPath, timeout: lockTimeout)
        try ObjectStore(layout: layout).prepare()
        let index = try Index(path: layout.indexPath)
        let store = Store(layout: layout, index: index, lock: lock)
        try store.reconcileWithDisk(modelsDir: modelsDir)
        return store
    }

    /// Opens an existing store without the lock, for reading. Throws `UsageError` when there is no store.
    public static func openForReading(at root: String) throws -> Store {
        let layout = StoreLayout(root: FileSystem.absolute(root))
        guard FileSystem.exists(layout.indexPath) else {
            throw UsageError("no model-sync store at \(layout.root)",
                             hint: "import a models folder first (`model-sync import DIR`), or pass --store")
        }
        let index = try Index(path: layout.indexPath, readOnly: true)
        return Store(layout: layout, index: index, lock: nil)
    }

    /// Opens the store for `fsck --repair`: takes the lock, and moves an unreadable index aside instead of
    /// failing, so that the repair can rebuild it. Returns the store and whether the index was rebuilt from scratch.
    static func openForRepair(at root: String, lockTimeout: Double) throws -> (Store, indexWasReset: Bool) {
        let layout = StoreLayout(root: FileSystem.absolute(root))
        try FileSystem.makeDirectories(layout.root)
        let lock = try StoreLock(path: layout.lockPath, timeout: lockTimeout)
        try ObjectStore(layout: layout).prepare()
        let existed = FileSystem.exists(layout.indexPath)
        do {
            let index = try openCheckedIndex(layout)
            return (Store(layout: layout, index: index, lock: lock), !existed)
        } catch {
            // Corrupt pages, or a database whose tables are not the ones its version promises ("no such
            // table" is SQLITE_ERROR). A newer schema is neither: `NewerIndexError` passes through untouched.
            guard let failure = error as? SQLiteError,
                  failure.isCorruption || failure.resultCode.primaryResultCode == .SQLITE_ERROR else { throw error }
        }
        // Unreadable: keep it aside for inspection and start an empty index, which the caller rebuilds.
        let aside = layout.root + "/index.sqlite.corrupt-\(Int(Date().timeIntervalSince1970))"
        rename(layout.indexPath, aside)
        unlink(layout.indexPath + "-wal")
        unlink(layout.indexPath + "-shm")
        let index = try Index(path: layout.indexPath)
        return (Store(layout: layout, index: index, lock: lock), true)
    }

    /// Opens the index and reads every table once, so that a corrupt page fails here.
    private static func openCheckedIndex(_ layout: StoreLayout) throws -> Index {
        let index = try Index(path: layout.indexPath)
        _ = try index.allManifests()
        _ = try GenerationLedger(layout: layout, index: index).all()
        _ = try index.allObjects()
        return index
    }

    /// True when this store holds the write lock.
    public var isWritable: Bool { lock != nil }

    // MARK: reading

    /// Reads and validates a stored manifest.
    public func manifest(_ digest: Digest) throws -> Manifest {
        let bytes = try objects.readSmallObject(digest)
        let manifest = try Manifest.decode(bytes)
        return manifest
    }

    /// True when the index records `digest` as a manifest (its object may exist without the record).
    func hasManifestRecord(_ digest: Digest) throws -> Bool { try index.hasManifest(digest) }

    /// All generations recorded in the index, newest first.
    public func generations() throws -> [GenerationRecord] { try ledger.all() }

    /// The event log, oldest first.
    public func events(limit: Int = 1000) throws -> [StoreEvent] { try index.events(limit: limit) }

    /// Records an event in the log.
    public func record(_ event: StoreEvent) throws { try index.recordEvent(event) }

    /// Records an event describing a change already made; when the disk is full the event is dropped, since
    /// failing would report the change as not made.
    public func recordCompleted(_ event: StoreEvent) throws { try unlessOutOfSpace(()) { try index.recordEvent(event) } }

    // MARK: named values

    /// The small value a layer above the store saved under `name` (for example the daemon's state), or nil.
    ///
    /// The store does not interpret values; the name is the caller's namespace (`daemon.client`). Values live
    /// in the index, so they survive restarts but not an index rebuilt by `fsck --repair`.
    public func value(named name: String) throws -> String? { try index.value(named: name) }

    /// Saves `value` under `name` (a few kilobytes at most), replacing what was there; nil removes it.
    public func setValue(_ value: String?, named name: String) throws { try index.setValue(value, named: name) }

    /// Resolves a user-supplied manifest reference: a full digest, a unique hex prefix (at least 6 characters),
    /// or a generation number.
    public func resolveManifest(_ reference: String) throws -> Digest {
        if let number = Int(reference) {
            if let generation = try ledger.record(number) {
                return generation.manifest
            }
            throw UsageError("no generation \(number) in \(layout.root)", hint: "`model-sync status` lists the generations")
        }
        if let digest = try? Digest(parsing: reference, allowBareHex: true) {
            guard try index.hasManifest(digest) || objects.contains(digest) else {
                throw UsageError("no manifest \(digest) in \(layout.root)", hint: "`model-sync log` lists imported manifests")
            }
            return digest
        }
        let prefix = reference.hasPrefix(Digest.prefix) ? String(reference.dropFirst(Digest.prefix.count)) : reference
        guard prefix.count >= 6, Digest.isHex64(Substring(prefix + String(repeating: "0", count: 64 - min(64, prefix.count)))) else {
            throw UsageError("\"\(reference)\" is neither a manifest digest nor a generation number",
                             hint: "give sha256:<64 hex>, a unique prefix of at least 6 hex characters, or a generation number")
        }
        let matches = try index.allManifests().map(\.digest).filter { $0.hex.hasPrefix(prefix) }
        guard matches.count == 1 else {
            throw UsageError(matches.isEmpty ? "no manifest starts with \(prefix)" : "\(prefix) matches \(matches.count) manifests",
                             hint: "give more characters of the digest")
        }
        return matches[0]
    }
}

@available(*, unavailable)
extension Store: Sendable {}
