#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Rebuilds an empty index from the disk alone: every object, every object that decodes as a manifest,
/// and every generation directory with its `<n>.manifest` sidecar; the generation `models_dir` points at
/// is the active one. The event log cannot be recovered and starts again.
struct IndexRebuilder {
    let store: Store
    let modelsDir: String?

    /// True when the file begins with the bytes every canonical manifest begins with.
    static func startsLikeManifest(_ path: String) -> Bool {
        let prefix = Array(#"{"files":"#.utf8)
        guard let descriptor = try? FileSystem.open(path, O_RDONLY) else { return false }
        defer { close(descriptor) }
        var head = [UInt8](repeating: 0, count: prefix.count)
        let count = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        return count == prefix.count && head == prefix
    }

    func run() throws -> [FsckReport.Repair] {
        var repairs: [FsckReport.Repair] = []
        let (objects, _) = try store.objects.enumerate()
        let now = Date()
        let activeNumber = modelsDir.flatMap { store.ledger.activeNumber(modelsDir: $0) }
        try store.index.transaction {
            for digest in objects {
                let path = store.layout.objectPath(digest)
                guard let info = try FileSystem.linkStatus(path) else { continue }
                try store.index.recordObject(digest, size: UInt64(info.st_size), at: now)
                // Manifests are small JSON objects that start with `{"files":`: only those are read whole.
                if info.st_size < 64 << 20, IndexRebuilder.startsLikeManifest(path),
                   let manifest = try? store.manifest(digest) {
                    try store.index.recordManifest(manifest, at: now)
                }
            }
            repairs += try reindexGenerations(active: activeNumber, at: now)
        }
        repairs.insert(.init(digest: nil, path: store.layout.indexPath, action: "index-rebuilt"), at: 0)
        return repairs
    }

    /// Records every complete generation directory the index does not know, from its `<n>.manifest`
    /// sidecar (recording the manifest too when only its object survives). A directory whose manifest is
    /// lost stays unrecorded, and so untouched: numbering and retention read the disk as well.
    func reindexGenerations(active: Int?, at now: Date = Date()) throws -> [FsckReport.Repair] {
        let ledger = store.ledger
        let known = Set(try ledger.all().map(\.number))
        var repairs: [FsckReport.Repair] = []
        for name in try FileSystem.list(store.layout.generations) {
            guard let number = Int(name), number > 0, !known.contains(number),
                  let digest = IndexRebuilder.sidecarManifest(store.layout, number) else { continue }
            if try !store.index.hasManifest(digest) {
                guard let manifest = try? store.manifest(digest) else { continue }
                try store.index.recordManifest(manifest, at: now)
            }
            let state: GenerationState = number == active ? .active : .retained
            try ledger.reindex(GenerationRecord(number: number, manifest: digest, state: state,
                                                createdAt: now, activatedAt: state == .active ? now : nil))
            repairs.append(.init(digest: digest, path: store.layout.generationPath(number), action: "generation-reindexed"))
        }
        return repairs
    }

    /// The manifest digest a generation's `<n>.manifest` sidecar names, or nil.
    static func sidecarManifest(_ layout: StoreLayout, _ number: Int) -> Digest? {
        guard let bytes = try? FileSystem.readAll(layout.generationManifestPath(number)) else { return nil }
        return try? Digest(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

extension Store {
    /// Brings an index that lost rows back in step with the disk before a writer changes anything: an index
    /// with no object while objects exist (deleted, emptied, replaced) is rebuilt whole; generation
    /// directories it does not know are recorded. The index is a cache: without this, the next activation
    /// would take the disk's generations for strangers.
    func reconcileWithDisk(modelsDir: String?) throws {
        let active = modelsDir.flatMap { ledger.activeNumber(modelsDir: $0) }
        // One row is enough to know the table is not empty; counting 200,000 rows on every open is not.
        let hasObjectRows = !(try index.database.query("SELECT 1 FROM objects LIMIT 1") { $0.int(0) }).isEmpty
        if !hasObjectRows, try objects.hasAnyObjectFile() {
            _ = try IndexRebuilder(store: self, modelsDir: modelsDir).run()
            return
        }
        try index.transaction { _ = try IndexRebuilder(store: self, modelsDir: modelsDir).reindexGenerations(active: active) }
    }

    /// Checks the store (`fsck`). Without `repair` it reads only; with `repair` the store must be opened with
    /// `Store.repairing(at:lockTimeout:modelsDir:progress:)`.
    ///
    /// It reads without the lock, so a writer working meanwhile (an import linking objects before their index
    /// rows, temp files in flight, a generation being built) can look like damage. When the first look finds
    /// problems, or fails, fsck waits (up to `lockTimeout` seconds) for a shared lock that keeps writers out
    /// and looks again, reusing the hashes of the first look; only what that second look finds is reported.
    public func check(modelsDir: String?, lockTimeout: Double = 60, progress: ProgressHandler? = nil) throws -> FsckReport {
        let first: FsckReport
        do {
            first = try Fsck(store: self, repair: false, modelsDir: modelsDir, progress: progress).run()
        } catch {
            guard let lock = StoreLock(sharedAt: layout.lockPath, timeout: lockTimeout) else { throw error }
            defer { withExtendedLifetime(lock) {} }
            return try Fsck(store: self, repair: false, modelsDir: modelsDir, progress: progress).run()
        }
        guard !first.remainingProblems.isEmpty,
              let lock = StoreLock(sharedAt: layout.lockPath, timeout: lockTimeout) else { return first }
        defer { withExtendedLifetime(lock) {} }
        var second = Fsck(store: self, repair: false, modelsDir: modelsDir, progress: progress)
        second.knownHashes = first.hashes
        return try second.run()
    }

    /// Opens the store with the lock, rebuilds the index if it is missing or corrupt, then checks and repairs.
    public static func repair(at root: String, lockTimeout: Double, modelsDir: String?,
                              progress: ProgressHandler? = nil) throws -> FsckReport {
        let (store, reset) = try Store.openForRepair(at: root, lockTimeout: lockTimeout)
        var rebuilt: [FsckReport.Repair] = []
        if reset {
            rebuilt = try IndexRebuilder(store: store, modelsDir: modelsDir).run()
        } else {
            try store.reconcileWithDisk(modelsDir: modelsDir)
        }
        var report = try Fsck(store: store, repair: true, modelsDir: modelsDir, progress: progress).run()
        if reset {
            report.problems.insert("the index was missing or unreadable", at: 0)
            report.repaired.insert(contentsOf: rebuilt, at: 0)
        }
        return report
    }
}
