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
}

/// Checks a store: re-hashes every object, compares the index with the disk both ways, and checks every
/// retained generation against its manifest. With `repair`, fixes what can be fixed from the store alone.
struct Fsck {
    let store: Store
    let repair: Bool
    let modelsDir: String?
    let progress: ProgressHandler?

    func run() throws -> FsckReport {
        var report = FsckReport()
        let layout = store.layout
        let (onDisk, strays) = try store.objects.enumerate()
        let indexed = try store.index.allObjects()

        // 1. Re-hash every object, in parallel, in constant memory per thread.
        var sizes: [Digest: UInt64] = [:]
        var modes: [Digest: mode_t] = [:]
        for digest in onDisk {
            if let info = try FileSystem.linkStatus(layout.objectPath(digest)) {
                sizes[digest] = UInt64(info.st_size)
                modes[digest] = info.st_mode & 0o7777
            }
        }
        let total = sizes.values.reduce(0, +)
        let done = Atomic<UInt64>(0)
        let progress = self.progress
        let hashed = try ParallelWork.map(count: onDisk.count) { item -> (Digest, Digest, UInt64) in
            let digest = onDisk[item]
            let (actual, size) = try ObjectStore.hashFile(at: layout.objectPath(digest))
            let completed = done.add(size, ordering: .relaxed).newValue
            progress?(Progress(phase: "verifying", completed: completed, total: total))
            return (digest, actual, size)
        }
        var good = Set<Digest>()
        for (digest, actual, size) in hashed {
            report.objectsChecked += 1
            report.bytesChecked += size
            if actual != digest {
                report.corrupt.append(digest)
                report.problems.append("corrupt object \(digest): content hashes to \(actual)")
                if repair {
                    try store.objects.quarantine(digest)
                    try store.index.removeObject(digest)
                    try store.index.forgetCachedDigests(digest)
                    report.repaired.append(.init(digest: digest, path: nil, action: "quarantined"))
                }
                continue
            }
            if let expected = indexed[digest], expected != size {
                report.problems.append("object \(digest) is \(size) bytes but the index says \(expected)")
                if repair {
                    try store.index.removeObject(digest)
                    try store.index.recordObject(digest, size: size)
                    report.repaired.append(.init(digest: digest, path: nil, action: "index-size-fixed"))
                }
            }
            if indexed[digest] == nil {
                report.problems.append("object \(digest) is not in the index")
                if repair {
                    try store.index.recordObject(digest, size: size)
                    report.repaired.append(.init(digest: digest, path: nil, action: "indexed"))
                }
            }
            if let mode = modes[digest], mode != 0o444 {
                // A hard-linked generation file shares the object's inode: a chmod on one changes both.
                report.problems.append("object \(digest) has mode \(String(mode, radix: 8)), expected 444")
                if repair {
                    if chmod(layout.objectPath(digest), 0o444) != 0 { throw IOError.current("chmod", layout.objectPath(digest)) }
                    report.repaired.append(.init(digest: digest, path: nil, action: "mode-fixed"))
                }
            }
            good.insert(digest)
        }
        for path in strays {
            report.problems.append("unexpected file in objects/: \(path)")
            if repair {
                try FileSystem.removeTree(path)
                report.repaired.append(.init(digest: nil, path: path, action: "removed"))
            }
        }

        // 2. Index rows whose object file is gone.
        let onDiskSet = Set(onDisk)
        for digest in indexed.keys.sorted() where !onDiskSet.contains(digest) {
            report.problems.append("object \(digest) is in the index but not on disk")
            if repair {
                try store.index.removeObject(digest)
                try store.index.forgetCachedDigests(digest)
                report.repaired.append(.init(digest: digest, path: nil, action: "index-row-removed"))
            }
        }

        // 3. Half-written temp files.
        for name in try FileSystem.list(layout.tmp).sorted() {
            let path = layout.tmp + "/" + name
            report.problems.append("leftover temporary file \(path)")
            if repair {
                try FileSystem.removeTree(path)
                report.repaired.append(.init(digest: nil, path: path, action: "removed"))
            }
        }

        // 4. Generation directories nothing points at: half-built ones (a crash before their rename) and
        //    ones the index does not know.
        let records = try store.index.generations()
        let known = Set(records.filter { $0.state != .building }.map(\.number))
        let activeNumber = modelsDir.flatMap { Generations.activeNumber(modelsDir: $0, layout: layout) }
        for name in try FileSystem.list(layout.generations).sorted() {
            let path = layout.generations + "/" + name
            let number = Int(name.hasSuffix(".manifest") ? String(name.dropLast(9)) : name)
            if let number, known.contains(number) || number == activeNumber { continue }
            let line = name.hasPrefix(".building-") ? "half-built generation directory \(path)"
                : "generation entry \(path) is not a known generation"
            report.problems.append(line)
            if repair {
                try FileSystem.removeTree(path)
                report.repaired.append(.init(digest: nil, path: path, action: "removed"))
            }
        }
        for record in records where record.state == .building && record.number != activeNumber {
            report.problems.append("generation \(record.number) is recorded as \(record.state.rawValue)")
            if repair {
                try store.index.removeGeneration(record.number)
                report.repaired.append(.init(digest: record.manifest, path: layout.generationPath(record.number),
                                             action: "generation-forgotten"))
            }
        }

        // The symlink is the truth about the active set; after a crash between the swap and the index
        // update the index still names the previous one.
        if let activeNumber, let record = records.first(where: { $0.number == activeNumber }), record.state != .active {
            let previous = records.first { $0.state == .active }?.number
            report.problems.append("generation \(activeNumber) is active but the index records it as \(record.state.rawValue)")
            if repair {
                let now = Date()
                try store.index.setGenerationActivated(activeNumber, at: now)
                try store.index.recordEvent(StoreEvent(time: now, kind: .activate, generation: activeNumber,
                                                       fromGeneration: previous, manifest: record.manifest,
                                                       reason: "recorded by fsck after an interrupted activation"))
                report.repaired.append(.init(digest: record.manifest, path: layout.generationPath(activeNumber),
                                             action: "activation-recorded"))
            }
        }

        // 5. Every generation we keep must have its manifest and all its objects, and its files must match.
        var missing = Set<Digest>()
        var remaining: [String] = []
        for generation in records where generation.state == .active || generation.state == .retained || generation.number == activeNumber {
            guard good.contains(generation.manifest) else {
                missing.insert(generation.manifest)
                let line = "generation \(generation.number): its manifest \(generation.manifest) is missing"
                report.problems.append(line)
                remaining.append(line)
                continue
            }
            let manifest: Manifest
            do {
                manifest = try store.manifest(generation.manifest)
            } catch {
                let line = "generation \(generation.number): manifest \(generation.manifest) is invalid: \(modelSyncError(from: error).message)"
                report.problems.append(line)
                remaining.append(line)
                continue
            }
            for entry in manifest.files where !good.contains(entry.digest) {
                if missing.insert(entry.digest).inserted {
                    let line = "generation \(generation.number) needs \(entry.digest) (\(entry.path)), which the store lacks"
                    report.problems.append(line)
                    remaining.append(line)
                }
            }
            let checker = GenerationChecker(store: store, repair: repair, good: good)
            let (found, fixed, left) = try checker.check(generation: generation.number, manifest: manifest)
            report.problems += found
            report.repaired += fixed
            remaining += left
        }
        report.missing = missing.sorted()

        if !repair {
            report.remainingProblems = report.problems
        } else {
            report.remainingProblems = remaining
        }
        return report
    }
}
