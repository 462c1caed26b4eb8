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
        let index = store.index
        var keptManifests = Set<Digest>()
        for generation in try store.ledger.all() where generation.state != .failed {
            keptManifests.insert(generation.manifest)
        }
        var droppedManifests: [Digest] = []
        for manifest in try index.allManifests() {
            if manifest.pinned || now.timeIntervalSince(manifest.importedAt) < graceSeconds {
                keptManifests.insert(manifest.digest)
            } else if !keptManifests.contains(manifest.digest) {
                droppedManifests.append(manifest.digest)
            }
        }
        droppedManifests.removeAll { keptManifests.contains($0) }
        var keep = keptManifests
        for manifest in keptManifests {
            keep.formUnion(try index.referencedObjects(of: manifest))
        }
        let (onDisk, _) = try store.objects.enumerate()
        let indexed = try index.allObjects()
        for digest in onDisk where !keep.contains(digest) {
            let onDiskSize = try FileSystem.linkStatus(store.layout.objectPath(digest)).map { UInt64($0.st_size) } ?? 0
            let size = indexed[digest] ?? onDiskSize
            report.removed.append(digest)
            report.objectsRemoved += 1
            report.bytesFreed += size
        }
        report.objectsKept = onDisk.count - report.objectsRemoved
        report.manifestsRemoved = droppedManifests.sorted()
        let temporaries = try FileSystem.list(store.layout.tmp).sorted().map { store.layout.tmp + "/" + $0 }
        report.tempFilesRemoved = temporaries
        guard !dryRun else { return report }

        // Index first, then files: a crash in between leaves unindexed objects, which the next gc or fsck
        // handles, never index rows that point at nothing a kept generation needs.
        try index.transaction {
            for digest in droppedManifests { try index.removeManifest(digest) }
            for digest in report.removed {
                try index.removeObject(digest)
                try index.forgetCachedDigests(digest)
            }
            try index.recordEvent(StoreEvent(time: now, kind: .gc,
                                             reason: "removed \(report.objectsRemoved) objects, \(report.bytesFreed) bytes"))
        }
        for digest in report.removed { try store.objects.remove(digest) }
        for path in temporaries { try FileSystem.removeTree(path) }
        return report
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
