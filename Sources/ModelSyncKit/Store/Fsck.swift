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
        for digest in onDisk {
            if let info = try FileSystem.linkStatus(layout.objectPath(digest)) { sizes[digest] = UInt64(info.st_size) }
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

        // 4. Every generation we keep must have its manifest and all its objects, and its files must match.
        var missing = Set<Digest>()
        var remaining: [String] = []
        for generation in try store.index.generations() where generation.state == .active || generation.state == .retained {
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
