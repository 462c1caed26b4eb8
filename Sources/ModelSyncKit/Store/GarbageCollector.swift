import Foundation

/// What `gc` removed or would remove (`model-sync gc --json`).
public struct GCReport: Sendable {
    public var dryRun: Bool
    public var objectsRemoved = 0
    public var bytesFreed: UInt64 = 0
    public var objectsKept = 0
    /// The removed (or, with `dryRun`, removable) objects.
    public var removed: [Digest] = []
    /// Manifests dropped from the index (their objects are in `removed`).
    public var manifestsRemoved: [Digest] = []
    /// Temp files removed.
    public var tempFilesRemoved: [String] = []
    /// Folders under `incoming/` left by pulls that no longer run, removed (never one in use).
    public var stagedRemoved: [String] = []
    /// The bytes of the temp files and staged downloads removed (not counted in ``bytesFreed``, which is the
    /// objects').
    public var leftoverBytesFreed: UInt64 = 0
    /// Stat-cache rows dropped because their file is gone (a folder no import walks again).
    public var cacheRowsRemoved = 0
}

/// Deletes the objects nothing needs any more: an object stays when a generation that is kept (active,
/// retained or being built) references it, when a manifest imported within the grace period or pinned
/// references it, or when it is such a manifest itself.
struct GarbageCollector {
    let store: Store
    let graceSeconds: Double
    let dryRun: Bool
    let now: Date

    func run() throws -> GCReport {
        var report = GCReport(dryRun: dryRun)
        let (kept, dropped) = try sortManifests()
        try countRemovableObjects(keeping: try objects(referencedBy: kept), into: &report)
        report.manifestsRemoved = dropped.sorted()
        report.tempFilesRemoved = try FileSystem.list(store.layout.tmp).sorted().map { store.layout.tmp + "/" + $0 }
        // A staged folder left over stays so (its owner is gone and no one takes it over): it may be judged
        // now and removed after the index work.
        report.stagedRemoved = try IncomingFolders(storeRoot: store.layout.root).leftovers()
        report.leftoverBytesFreed = (report.tempFilesRemoved + report.stagedRemoved).reduce(0) {
            $0 + FileSystem.bytes(under: $1)
        }
        let goneFiles = try cachedPathsOfGoneFiles()
        report.cacheRowsRemoved = goneFiles.count
        guard !dryRun else { return report }
        try remove(report)
        try store.index.transaction { try store.index.forgetCachedPaths(goneFiles) }
        return report
    }

    /// The stat cache's paths that no longer name a regular file. An import drops those under the folder it
    /// walks; these are the rest, of folders no import walks again (a one-off `import`, a moved models folder).
    private func cachedPathsOfGoneFiles() throws -> [String] {
        try store.index.cachedPaths().filter { !FileSystem.isRegularFile(at: $0) }
    }

    /// The manifests to keep (of a kept generation, pinned, or within the grace period) and the indexed
    /// ones to drop.
    private func sortManifests() throws -> (kept: Set<Digest>, dropped: [Digest]) {
        var kept = Set<Digest>()
        for generation in try store.ledger.all() where generation.state != .failed {
            kept.insert(generation.manifest)
        }
        // The index is a cache: a generation directory on disk keeps its manifest even if no row names it.
        for name in try FileSystem.list(store.layout.generations) {
            if let number = Int(name), let digest = IndexRebuilder.sidecarManifest(store.layout, number) {
                kept.insert(digest)
            }
        }
        var dropped: [Digest] = []
        for manifest in try store.index.allManifests() {
            if manifest.pinned || now.timeIntervalSince(manifest.importedAt) < graceSeconds {
                kept.insert(manifest.digest)
            } else if !kept.contains(manifest.digest) {
                dropped.append(manifest.digest)
            }
        }
        return (kept, dropped.filter { !kept.contains($0) })
    }

    /// The kept manifests themselves and every blob they reference.
    private func objects(referencedBy manifests: Set<Digest>) throws -> Set<Digest> {
        var keep = manifests
        for manifest in manifests {
            let referenced = try store.index.referencedObjects(of: manifest)
            if referenced.isEmpty, let decoded = try? store.manifest(manifest) {
                // Not in the index (it lost rows): the manifest object itself says what it needs.
                keep.formUnion(decoded.files.map(\.digest))
            }
            keep.formUnion(referenced)
        }
        return keep
    }

    /// Lists every object on disk that is not in `keep`, with its size (the index's, else the file's).
    private func countRemovableObjects(keeping keep: Set<Digest>, into report: inout GCReport) throws {
        let (onDisk, _) = try store.objects.enumerate()
        let indexed = try store.index.allObjects()
        for digest in onDisk where !keep.contains(digest) {
            let onDiskSize = try FileSystem.linkStatus(store.layout.objectPath(digest)).map { UInt64($0.st_size) } ?? 0
            report.removed.append(digest)
            report.objectsRemoved += 1
            report.bytesFreed += indexed[digest] ?? onDiskSize
        }
        report.objectsKept = onDisk.count - report.objectsRemoved
    }

    /// Removes what `report` lists. Index first, then files: a crash in between leaves unindexed objects,
    /// which the next gc or fsck handles, never index rows that point at nothing a kept generation needs.
    private func remove(_ report: GCReport) throws {
        let index = store.index
        try index.transaction {
            for digest in report.manifestsRemoved {
                // A failed generation keeps nothing, but its record (shown by `status` until the next
                // activation) names its manifest: it goes first, or the manifest row cannot.
                try store.ledger.forgetFailed(of: digest)
                try index.removeManifest(digest)
            }
            for digest in report.removed {
                try index.removeObject(digest)
                try index.forgetCachedDigests(digest)
            }
            try index.recordEvent(StoreEvent(time: now, kind: .gc,
                                             reason: "removed \(report.objectsRemoved) objects, \(report.bytesFreed) bytes"))
        }
        for digest in report.removed { try store.objects.remove(digest) }
        for path in report.tempFilesRemoved + report.stagedRemoved { try FileSystem.removeTree(path) }
    }
}

extension Store {
    /// Pins (or unpins) a stored manifest so that gc keeps its objects whatever its age.
    public func pin(_ digest: Digest, _ pinned: Bool = true) throws {
        guard try index.hasManifest(digest) else {
            throw UsageError("no manifest \(digest) in \(layout.root)", hint: "`model-sync log` lists imported manifests")
        }
        try index.setPinned(digest, pinned)
    }

    /// Removes unreferenced objects (see `GarbageCollector`). Needs the write lock.
    public func collectGarbage(graceSeconds: Double, dryRun: Bool, now: Date = Date()) throws -> GCReport {
        precondition(isWritable || dryRun, "gc needs the store lock")
        return try GarbageCollector(store: self, graceSeconds: graceSeconds, dryRun: dryRun, now: now).run()
    }
}
