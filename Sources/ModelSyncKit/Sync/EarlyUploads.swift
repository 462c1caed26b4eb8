import Foundation

/// Uploads the large objects of a publish's import while the import is still hashing the rest, so that the
/// copy into the store and the upload overlap instead of following each other.
///
/// Only an optimization: an upload that fails is forgotten, and the transfer engine's publish, which runs
/// afterwards as always, asks the destination what it lacks and sends it (reporting any error then). The
/// objects are the import's own, written moments ago from the bytes it hashed, so they leave without being
/// hashed again (``TransferEngine/publish(_:to:channel:signer:freshObjects:)`` says why that is safe).
///
/// Network waits never hold the store lock: the import does not wait for these uploads, ``finish()`` does,
/// after the lock is released.
final class EarlyUploads: Sendable {
    private let group = DispatchGroup()
    private let slots: DispatchSemaphore
    private let upload: @Sendable (ManifestEntry) throws -> Bool
    private let sentSoFar = Locked<(objects: Int, bytes: UInt64)>((0, 0))
    private let queue = DispatchQueue(label: "model-sync.early-uploads", attributes: .concurrent)

    /// Runs `upload` for each announced entry, at most `concurrency` at once; `upload` returns whether it sent
    /// the blob (false: the destination had it already).
    init(concurrency: Int, upload: @escaping @Sendable (ManifestEntry) throws -> Bool) {
        slots = DispatchSemaphore(value: max(1, concurrency))
        self.upload = upload
    }

    /// Uploads of the store's objects under `storeDir` (which may not exist yet: a first publish), each handed
    /// to `send` with its file; `send` returns whether it sent the blob (false: the destination had it).
    /// Every destination that takes early uploads goes through here, so they all read the objects the same
    /// way: not hashed again, and with no progress of their own (the engine reports the publish's).
    static func fromStore(_ storeDir: String, concurrency: Int,
                          send: @escaping @Sendable (ManifestEntry, OutgoingBlobs) throws -> Bool) -> EarlyUploads {
        let objects = ObjectStore(layout: StoreLayout(root: FileSystem.absolute(storeDir)))
        return EarlyUploads(concurrency: concurrency) { entry in
            let outgoing = OutgoingBlobs(total: entry.size, progress: nil) { entry in
                OutgoingBlob(digest: entry.digest, size: entry.size, path: objects.path(of: entry.digest))
            }
            return try send(entry, outgoing)
        }
    }

    /// Starts uploading `entry` (from the importer's worker thread; returns at once).
    func announce(_ entry: ManifestEntry) {
        group.enter()
        queue.async { [self] in
            slots.wait()
            defer {
                slots.signal()
                group.leave()
            }
            if (try? upload(entry)) == true {
                sentSoFar.withLock { $0 = ($0.objects + 1, $0.bytes + entry.size) }
            }
        }
    }

    /// Waits for every upload started.
    func finish() {
        group.wait()
    }

    /// The blobs these uploads sent and their bytes (the publish reports them with the engine's).
    var sent: (objects: Int, bytes: UInt64) { sentSoFar.withLock { $0 } }
}
