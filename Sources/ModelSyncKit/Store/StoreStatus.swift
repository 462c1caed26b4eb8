import Foundation

/// What `model-sync status` shows.
public struct StoreStatus: Sendable {
    public struct Active: Sendable {
        public var generation: Int
        public var manifest: Digest
        public var files: Int
        public var bytes: UInt64
        public var activatedAt: Date?
    }

    public var modelsDir: String
    public var storeDir: String
    public var active: Active?
    /// Every generation the index knows, newest first.
    public var generations: [GenerationRecord]
    public var objects: Int
    public var objectBytes: UInt64
    public var manifests: Int
}

extension StoreStatus {
    /// The status of a folder no command has written a store for yet: nothing active, nothing kept.
    public static func noStore(modelsDir: String, storeDir: String) -> StoreStatus {
        StoreStatus(modelsDir: FileSystem.absolute(modelsDir), storeDir: FileSystem.absolute(storeDir), active: nil,
                    generations: [], objects: 0, objectBytes: 0, manifests: 0)
    }
}

extension Store {
    /// True when `root` holds a store's index (a fresh folder has none until the first import or activation).
    public static func exists(at root: String) -> Bool {
        FileSystem.exists(StoreLayout(root: FileSystem.absolute(root)).indexPath)
    }

    /// The active generation, the retained ones, and the store's size.
    public func status(modelsDir: String) throws -> StoreStatus {
        let activeNumber = ledger.activeNumber(modelsDir: modelsDir)
        // The symlink is the truth about which set is active; the index may lag it after a crash.
        let generations = try ledger.all().map { record -> GenerationRecord in
            var record = record
            if record.number == activeNumber { record.state = .active } else if record.state == .active { record.state = .retained }
            return record
        }
        var active: StoreStatus.Active?
        if let number = activeNumber,
           let record = generations.first(where: { $0.number == number }) {
            // The counts recorded with the manifest: decoding a manifest of 200,000 files took seconds. A
            // manifest the index lost (a rebuild in progress) is read from its object instead.
            let counts = try index.manifestCounts(record.manifest)
                ?? (try? self.manifest(record.manifest)).map { (files: $0.files.count, bytes: $0.totalBytes) }
            active = .init(generation: number, manifest: record.manifest, files: counts?.files ?? 0,
                           bytes: counts?.bytes ?? 0, activatedAt: record.activatedAt)
        }
        let objects = try index.objectTotals()
        return StoreStatus(modelsDir: FileSystem.absolute(modelsDir), storeDir: layout.root, active: active,
                           generations: generations, objects: objects.count,
                           objectBytes: objects.bytes, manifests: try index.manifestCount())
    }
}
