import Foundation
@testable import ModelSyncKit

/// Two stores for LFS transfer tests: `source` holds the blobs a publish uploads, `destination` receives
/// what a pull downloads.
struct LFSFixture {
    let directory = TemporaryDirectory("model-sync-lfs")
    let source: Store
    let destination: Store

    init() throws {
        source = try Store.open(at: directory.path + "/source", lockTimeout: 1)
        destination = try Store.open(at: directory.path + "/destination", lockTimeout: 1)
    }

    /// Inserts blobs of these sizes (each distinct, from `seed`) into `source` and returns their entries.
    func blobs(_ sizes: [Int], seed: UInt64 = 1) throws -> [ManifestEntry] {
        try sizes.enumerated().map { index, size in
            let bytes = pseudoRandomBytes(count: size, seed: seed &* 1000 &+ UInt64(index))
            let insertion = try source.objects.insert(bytes: bytes)
            return ManifestEntry(path: "file\(index).bin", size: UInt64(size), digest: insertion.digest)
        }
    }

    /// An entry for `bytes` that no store holds.
    static func entry(for bytes: [UInt8], path: String = "x.bin") -> ManifestEntry {
        ManifestEntry(path: path, size: UInt64(bytes.count), digest: SHA256.hash(Data(bytes)))
    }

    /// What a publish hands the destination: `source`'s objects, re-hashed before they leave.
    func outgoing(_ entries: [ManifestEntry]) -> OutgoingBlobs {
        let objects = source.objects
        return OutgoingBlobs(total: entries.reduce(0) { $0 + $1.size }, progress: nil) { entry in
            OutgoingBlob(digest: entry.digest, size: entry.size, path: objects.path(of: entry.digest))
        }
    }

    /// A sink into `destination`, as a pull opens one.
    func sink(_ entries: [ManifestEntry]) -> BlobSink {
        BlobSink(objects: destination.objects, total: entries.reduce(0) { $0 + $1.size }, progress: nil)
    }

    /// The bytes `store` holds for `digest`, nil when it has none.
    static func bytes(_ store: Store, _ digest: Digest) -> [UInt8]? {
        FileManager.default.contents(atPath: store.objects.path(of: digest)).map(Array.init)
    }
}
