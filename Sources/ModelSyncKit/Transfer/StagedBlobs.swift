/// Blobs a pull downloaded and verified before taking the store lock, in a private store-shaped folder under
/// `<store>/incoming/` (Git LFS objects, OCI blobs): the pull under the lock links them into the store from
/// there, so a slow server never holds the lock. The blobs verified before a failure stay staged, and
/// ``keep(in:)`` saves them, so a retry fetches only the rest.
final class StagedBlobs {
    private var paths: [Digest: String] = [:]

    /// The staged file holding `digest`, nil when it was not staged.
    subscript(digest: Digest) -> String? { paths[digest] }

    /// Downloads `entries` with `fetch` into a sink on a folder `makeStaging` makes (only called here, so
    /// nothing is made when nothing is missing), each blob hashed on the way in. An integrity failure is
    /// reworded by `describe`, with the entry that failed. Progress is reported against `total` when given:
    /// the bytes of the whole pull, of which the staged ones are a part.
    func stage(_ entries: [ManifestEntry], total: UInt64? = nil, into makeStaging: () throws -> String,
               progress: ProgressHandler?, describe: (IntegrityError, ManifestEntry?) -> IntegrityError,
               fetch: (BlobSink) throws -> Void) throws {
        let objects = ObjectStore(layout: StoreLayout(root: try makeStaging()))
        try objects.prepare()
        let sink = BlobSink(objects: objects, total: total ?? entries.reduce(0) { $0 + $1.size }, progress: progress)
        defer { for insertion in sink.insertions { paths[insertion.digest] = objects.path(of: insertion.digest) } }
        do {
            try fetch(sink)
        } catch let failure as IntegrityError {
            throw describe(failure, sink.failedEntry)
        }
    }

    /// After a failed ``stage(_:total:into:progress:describe:fetch:)``: moves what it had verified into `store` and
    /// records it. Returns how many blobs were kept.
    @discardableResult
    func keep(in store: Store) throws -> Int {
        guard !paths.isEmpty else { return 0 }
        let sink = BlobSink(objects: store.objects, total: 0, progress: nil)
        for (digest, path) in paths {
            guard let info = try FileSystem.status(path) else { continue }
            try sink.adopt(ManifestEntry(path: digest.objectRelativePath, size: UInt64(info.st_size), digest: digest),
                           verifiedFileAt: path)
        }
        try store.recordObjects(sink.insertions)
        return sink.insertions.count
    }
}

extension TransferSource {
    /// The distinct entries of manifest `digest` (read from this source and checked against its digest) for
    /// which `lacking` holds, in manifest order, with the manifest.
    func lackingEntries(of digest: Digest, lacking: (Digest) -> Bool) throws -> (Manifest, [ManifestEntry]) {
        let manifest = try TransferEngine.validatedManifest(digest, from: self)
        return (manifest, manifest.files.distinctByDigest().filter { lacking($0.digest) })
    }
}
