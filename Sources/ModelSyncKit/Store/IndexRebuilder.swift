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
        let ledger = store.ledger
        let activeNumber = modelsDir.flatMap { ledger.activeNumber(modelsDir: $0) }
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
            for name in try FileSystem.list(store.layout.generations) {
                guard let number = Int(name), number > 0 else { continue }
                let sidecar = store.layout.generationManifestPath(number)
                guard let bytes = try? FileSystem.readAll(sidecar),
                      let digest = try? Digest(parsing: String(decoding: bytes, as: UTF8.self)
                          .trimmingCharacters(in: .whitespacesAndNewlines)),
                      try store.index.hasManifest(digest) else { continue }
                let state: GenerationState = number == activeNumber ? .active : .retained
                try ledger.reindex(GenerationRecord(number: number, manifest: digest, state: state,
                                                                  createdAt: now, activatedAt: state == .active ? now : nil))
                repairs.append(.init(digest: digest, path: store.layout.generationPath(number), action: "generation-reindexed"))
            }
        }
        repairs.insert(.init(digest: nil, path: store.layout.indexPath, action: "index-rebuilt"), at: 0)
        return repairs
    }
}

extension Store {
    /// Checks the store (`fsck`). Without `repair` it reads only; with `repair` the store must be opened with
    /// `Store.repairing(at:lockTimeout:modelsDir:progress:)`.
    public func check(modelsDir: String?, progress: ProgressHandler? = nil) throws -> FsckReport {
        try Fsck(store: self, repair: false, modelsDir: modelsDir, progress: progress).run()
    }

    /// Opens the store with the lock, rebuilds the index if it is missing or corrupt, then checks and repairs.
    public static func repair(at root: String, lockTimeout: Double, modelsDir: String?,
                              progress: ProgressHandler? = nil) throws -> FsckReport {
        let (store, reset) = try Store.openForRepair(at: root, lockTimeout: lockTimeout)
        var rebuilt: [FsckReport.Repair] = []
        if reset {
            rebuilt = try IndexRebuilder(store: store, modelsDir: modelsDir).run()
        }
        var report = try Fsck(store: store, repair: true, modelsDir: modelsDir, progress: progress).run()
        if reset {
            report.problems.insert("the index was missing or unreadable", at: 0)
            report.repaired.insert(contentsOf: rebuilt, at: 0)
        }
        return report
    }
}
