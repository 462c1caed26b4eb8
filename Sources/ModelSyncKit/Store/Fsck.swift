#if canImport(Glibc)
internal import Glibc
#endif
import Foundation
import Synchronization

/// What `fsck` found and did (`model-sync fsck --json` prints these fields).
public struct FsckReport: Sendable {
    /// One repair that was made.
    public struct Repair: Sendable, Equatable {
        public var digest: Digest?
        public var path: String?
        public var action: String
    }

    /// True when nothing is left wrong (after repairs, if any were asked for).
    public var ok: Bool { remainingProblems.isEmpty }
    public var objectsChecked = 0
    public var bytesChecked: UInt64 = 0
    /// Objects whose content does not match their name.
    public var corrupt: [Digest] = []
    /// Objects a retained or active manifest needs that the store lacks (after repairs).
    public var missing: [Digest] = []
    public var repaired: [Repair] = []
    /// Every problem found, one human-readable line each.
    public var problems: [String] = []
    /// The problems still there at the end (the exit code is 7 when this is not empty).
    public var remainingProblems: [String] = []
    /// What each object hashed to, by digest, with the inode it was read from: a second look reuses them.
    var hashes: [Digest: Fsck.KnownHash] = [:]
}

/// The problems fsck's steps find and the repairs they make, in the order found.
struct FsckFindings {
    /// True for `fsck --repair`.
    let repairing: Bool
    var problems: [String] = []
    var repaired: [FsckReport.Repair] = []
    /// Problems left after this run: all of them without `--repair`, the ones with no fix with it.
    var remaining: [String] = []

    /// Notes `problem`, which nothing in the store can fix.
    mutating func note(_ problem: String) {
        problems.append(problem)
        remaining.append(problem)
    }

    /// Notes `problem`; when repairing and a `fix` exists, runs it and records the repair it reports.
    ///
    /// A repair is claimed only when its fix returned, and every fix re-checks its result before returning
    /// (a file removed is gone, a mode set reads back, a re-made file matches its entry). A fix that throws
    /// leaves the problem among the remaining ones, with the reason, and fsck goes on with the next one.
    mutating func note(_ problem: String, fix: (() throws -> FsckReport.Repair)?) throws {
        guard repairing, let fix else { return note(problem) }
        problems.append(problem)
        do {
            repaired.append(try fix())
        } catch {
            remaining.append("\(problem) (not repaired: \(modelSyncError(from: error).message))")
        }
    }
}

/// Checks a store: re-hashes every object, compares the index with the disk both ways, and checks every
/// retained generation against its manifest. With `repair`, fixes what can be fixed from the store alone.
struct Fsck {
    let store: Store
    let repair: Bool
    let modelsDir: String?
    let progress: ProgressHandler?
    /// Objects already hashed by an earlier look: an object file never changes in place, so a result read
    /// from the same inode still holds.
    var knownHashes: [Digest: KnownHash] = [:]

    /// One object's hash result and the file it came from.
    struct KnownHash: Sendable {
        var device: UInt64
        var inode: UInt64
        var actual: Digest
        var size: UInt64
    }

    private var layout: StoreLayout { store.layout }
    private var index: Index { store.index }

    func run() throws -> FsckReport {
        var report = FsckReport()
        var findings = FsckFindings(repairing: repair)
        let (onDisk, strays) = try store.objects.enumerate()
        let indexed = try index.allObjects()
        let hashed = try hashObjects(onDisk, into: &report)
        let good = try checkObjects(hashed, indexed: indexed, report: &report, findings: &findings)
        try checkStrayObjectFiles(strays, findings: &findings)
        try checkIndexRowsWithoutFiles(indexed, onDisk: Set(onDisk), findings: &findings)
        try checkTemporaryFiles(findings: &findings)
        try checkStagedDownloads(findings: &findings)
        let records = try store.ledger.all()
        let active = modelsDir.flatMap { store.ledger.activeNumber(modelsDir: $0) }
        try checkGenerationEntries(records, active: active, findings: &findings)
        try checkInterruptedBuilds(records, active: active, findings: &findings)
        try checkActiveRecord(records, active: active, findings: &findings)
        report.missing = try checkKeptGenerations(records, active: active, good: good, findings: &findings)
        report.problems = findings.problems
        report.repaired = findings.repaired
        report.remainingProblems = findings.remaining
        return report
    }

    // MARK: objects

    /// One re-hashed object: its name, what its content hashes to, its size and permission bits.
    private struct HashedObject {
        var digest: Digest
        var actual: Digest
        var size: UInt64
        var mode: mode_t?
    }

    /// Re-hashes every object, in parallel, in constant memory per thread (reusing `knownHashes` for files
    /// not replaced since). An object removed meanwhile (a concurrent gc) is left out, not reported.
    private func hashObjects(_ onDisk: [Digest], into report: inout FsckReport) throws -> [HashedObject] {
        var modes: [Digest: mode_t] = [:]
        var files: [Digest: (device: UInt64, inode: UInt64)] = [:]
        var sizes: UInt64 = 0
        var pending: [Digest] = []
        for digest in onDisk {
            guard let info = try FileSystem.linkStatus(layout.objectPath(digest)) else { continue }
            modes[digest] = info.st_mode & 0o7777
            files[digest] = (UInt64(info.st_dev), UInt64(info.st_ino))
            if let known = knownHashes[digest], known.device == UInt64(info.st_dev), known.inode == UInt64(info.st_ino) {
                report.hashes[digest] = known
            } else {
                sizes += UInt64(info.st_size)
                pending.append(digest)
            }
        }
        let (total, toHash) = (sizes, pending)
        let done = Atomic<UInt64>(0)
        let (layout, progress) = (self.layout, self.progress)
        let hashed = try ParallelWork.map(count: toHash.count) { item -> (Digest, Digest, UInt64)? in
            let digest = toHash[item]
            let actual: Digest, size: UInt64
            do {
                (actual, size) = try ObjectStore.hashFile(at: layout.objectPath(digest))
            } catch let error as IOError where error.errno == ENOENT {
                return nil
            }
            let completed = done.add(size, ordering: .relaxed).newValue
            progress?(Progress(phase: "verifying", completed: completed, total: total))
            return (digest, actual, size)
        }
        for item in hashed {
            guard let (digest, actual, size) = item, let file = files[digest] else { continue }
            report.hashes[digest] = KnownHash(device: file.device, inode: file.inode, actual: actual, size: size)
        }
        return onDisk.compactMap { digest in
            report.hashes[digest].map { HashedObject(digest: digest, actual: $0.actual, size: $0.size, mode: modes[digest]) }
        }
    }

    /// Compares each object with its name, its index row and its read-only mode. Returns the objects whose
    /// content is good.
    private func checkObjects(_ hashed: [HashedObject], indexed: [Digest: UInt64], report: inout FsckReport,
                              findings: inout FsckFindings) throws -> Set<Digest> {
        var good = Set<Digest>()
        for object in hashed {
            let digest = object.digest
            report.objectsChecked += 1
            report.bytesChecked += object.size
            guard object.actual == digest else {
                report.corrupt.append(digest)
                try findings.note("corrupt object \(digest): content hashes to \(object.actual)") {
                    try store.objects.quarantine(digest)
                    try Self.requireGone(layout.objectPath(digest))
                    try index.removeObject(digest)
                    try index.forgetCachedDigests(digest)
                    return .init(digest: digest, path: nil, action: "quarantined")
                }
                continue
            }
            if let expected = indexed[digest], expected != object.size {
                try findings.note("object \(digest) is \(object.size) bytes but the index says \(expected)") {
                    try index.removeObject(digest)
                    try index.recordObject(digest, size: object.size)
                    return .init(digest: digest, path: nil, action: "index-size-fixed")
                }
            }
            if indexed[digest] == nil {
                try findings.note("object \(digest) is not in the index") {
                    try index.recordObject(digest, size: object.size)
                    return .init(digest: digest, path: nil, action: "indexed")
                }
            }
            if let mode = object.mode, !StorePermissions.isValidObjectMode(mode) {
                // A hard-linked generation file shares the object's inode: a chmod on one changes both.
                let repaired = StorePermissions.repairedObjectMode(mode)
                try findings.note("object \(digest) has mode \(String(mode, radix: 8)), expected read-only (444 at most)") {
                    let path = layout.objectPath(digest)
                    // Not through a link planted in objects/: Linux refuses AT_SYMLINK_NOFOLLOW on a link,
                    // and the problem stays unrepaired.
                    if fchmodat(AT_FDCWD, path, repaired, AT_SYMLINK_NOFOLLOW) != 0 { throw IOError.current("chmod", path) }
                    guard let after = try FileSystem.linkStatus(path), after.st_mode & 0o7777 == repaired else {
                        throw IOError(errno: EPERM, operation: "chmod (mode did not change)", path: path)
                    }
                    return .init(digest: digest, path: nil, action: "mode-fixed")
                }
            }
            good.insert(digest)
        }
        return good
    }

    /// Files under `objects/` that are not named like an object.
    private func checkStrayObjectFiles(_ strays: [String], findings: inout FsckFindings) throws {
        for path in strays {
            try findings.note("unexpected file in objects/: \(path)") { try removal(of: path) }
        }
    }

    /// Index rows whose object file is gone.
    private func checkIndexRowsWithoutFiles(_ indexed: [Digest: UInt64], onDisk: Set<Digest>,
                                            findings: inout FsckFindings) throws {
        for digest in indexed.keys.sorted() where !onDisk.contains(digest) {
            try findings.note("object \(digest) is in the index but not on disk") {
                try index.removeObject(digest)
                try index.forgetCachedDigests(digest)
                return .init(digest: digest, path: nil, action: "index-row-removed")
            }
        }
    }

    /// Half-written temp files.
    private func checkTemporaryFiles(findings: inout FsckFindings) throws {
        for name in try FileSystem.list(layout.tmp).sorted() {
            let path = layout.tmp + "/" + name
            try findings.note("leftover temporary file \(path)") { try removal(of: path) }
        }
    }

    /// Downloads staged under `incoming/` by pulls that no longer run (a folder in use is never listed).
    private func checkStagedDownloads(findings: inout FsckFindings) throws {
        for leftover in try IncomingFolders(storeRoot: layout.root).leftovers() {
            let bytes = FileSystem.bytes(under: leftover)
            try findings.note("leftover staged download \(leftover) (\(bytes) bytes) of a pull that no longer runs") {
                try removal(of: leftover)
            }
        }
    }

    // MARK: generations

    /// Entries of `generations/` nothing points at: half-built directories (a crash before their rename)
    /// and generations the index does not know.
    private func checkGenerationEntries(_ records: [GenerationRecord], active: Int?, findings: inout FsckFindings) throws {
        let known = Set(records.filter { $0.state != .building }.map(\.number))
        // Renamed into place but never recorded as built: an activation killed between the two. It was never
        // active, so it goes (its record is forgotten by checkInterruptedBuilds), as the next activation does.
        let interrupted = Set(records.filter { $0.state == .building }.map(\.number))
        for name in try FileSystem.list(layout.generations).sorted() {
            let path = layout.generations + "/" + name
            let number = Int(name.hasSuffix(".manifest") ? String(name.dropLast(".manifest".count)) : name)
            if let number, known.contains(number) || number == active { continue }
            if let number, interrupted.contains(number) {
                try findings.note("generation entry \(path) belongs to an interrupted activation") { try removal(of: path) }
                continue
            }
            if let number, FileSystem.exists(layout.generationPath(number)) {
                // A whole generation whose manifest is lost (else opening the store had recorded it): its files
                // may be the only copy, so it is never removed (nor its sidecar), only reported.
                if !name.hasSuffix(".manifest") {
                    findings.note("generation directory \(path) is not a known generation and its manifest is lost "
                                  + "(import it with `model-sync import \(path)`, then remove it)")
                }
                continue
            }
            let problem = name.hasPrefix(".building-") ? "half-built generation directory \(path)"
                : "generation entry \(path) is not a known generation"
            try findings.note(problem) { try removal(of: path) }
        }
    }

    /// Generation records still marked as being built: an activation was interrupted before their rename.
    private func checkInterruptedBuilds(_ records: [GenerationRecord], active: Int?, findings: inout FsckFindings) throws {
        for record in records where record.state == .building && record.number != active {
            try findings.note("generation \(record.number) is recorded as \(record.state.rawValue)") {
                try store.ledger.forget(record.number)
                return .init(digest: record.manifest, path: layout.generationPath(record.number), action: "generation-forgotten")
            }
        }
    }

    /// The symlink is the truth about the active set; after a crash between the swap and the index update
    /// the index still names the previous one.
    private func checkActiveRecord(_ records: [GenerationRecord], active: Int?, findings: inout FsckFindings) throws {
        guard let active, let record = records.first(where: { $0.number == active }), record.state != .active else { return }
        let previous = records.first { $0.state == .active }?.number
        try findings.note("generation \(active) is active but the index records it as \(record.state.rawValue)") {
            try store.ledger.recordActivation(of: active, replacing: previous, manifest: record.manifest,
                                              reason: "recorded by fsck after an interrupted activation")
            return .init(digest: record.manifest, path: layout.generationPath(active), action: "activation-recorded")
        }
    }

    /// Every generation kept (active or retained) must have its manifest and all its objects, and its files
    /// must match. Returns the digests the store lacks.
    private func checkKeptGenerations(_ records: [GenerationRecord], active: Int?, good: Set<Digest>,
                                      findings: inout FsckFindings) throws -> [Digest] {
        var missing = Set<Digest>()
        let checker = GenerationChecker(store: store, good: good)
        for generation in records where generation.state == .active || generation.state == .retained || generation.number == active {
            guard good.contains(generation.manifest) else {
                missing.insert(generation.manifest)
                findings.note("generation \(generation.number): its manifest \(generation.manifest) is missing")
                continue
            }
            let manifest: Manifest
            do {
                manifest = try store.manifest(generation.manifest)
            } catch {
                findings.note("generation \(generation.number): manifest \(generation.manifest) is invalid: "
                              + modelSyncError(from: error).message)
                continue
            }
            let remainingBefore = findings.remaining.count
            for entry in manifest.files where !good.contains(entry.digest) && missing.insert(entry.digest).inserted {
                findings.note("generation \(generation.number) needs \(entry.digest) (\(entry.path)), which the store lacks")
            }
            try checker.check(generation: generation.number, manifest: manifest, findings: &findings)
            // What the repair could not mend is re-made by the next `activate` or `pull` of this manifest,
            // once the store holds its objects again.
            if repair, findings.remaining.count > remainingBefore || manifest.files.contains(where: { !good.contains($0.digest) }) {
                try store.ledger.markDamaged(generation.number)
            }
        }
        return missing.sorted()
    }

    /// Removes `path` (file or tree) and reports it.
    private func removal(of path: String) throws -> FsckReport.Repair {
        try FileSystem.removeTree(path)
        try Self.requireGone(path)
        return .init(digest: nil, path: path, action: "removed")
    }

    /// Throws unless nothing is left at `path`: the check behind every "removed" or "quarantined" claim.
    static func requireGone(_ path: String) throws {
        if FileSystem.exists(path) { throw IOError(errno: EEXIST, operation: "remove (still there)", path: path) }
    }
}
