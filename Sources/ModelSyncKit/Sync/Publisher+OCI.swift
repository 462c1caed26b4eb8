import Foundation

extension Publisher {
    /// `publish` to an OCI registry (`oci.reference`): (train,) snapshot, then through the transfer engine —
    /// only the blobs the repository lacks, the config blob, the image manifest under its digest tag, and the
    /// channel tag moved last. The store lock is held only for the snapshot and the event, as for git.
    func publishToOCI(progress: ProgressHandler?) throws -> Result {
        let config = workspace.config
        let registry = try workspace.ociRegistry()
        // Read before training: a missing key must not cost an hour of training first.
        let signer = try workspace.releaseSigner()
        try train()
        let early = earlyUploads(to: registry)
        let (imported, manifest) = try snapshot(progress: progress, early: early)
        let published = try TransferEngine(store: workspace.openStoreForReading(), progress: progress)
            .publish(manifest, to: registry, channel: config.oci.channel, signer: signer,
                     freshObjects: Set(imported.createdObjects))
        let location = "\(registry.name):\(config.oci.channel)"
        guard let receipt = published.receipt, let image = try? Digest(parsing: receipt) else {
            var result = Result(result: .upToDate, manifest: manifest.digest, commit: nil, newObjects: early.sent.objects,
                                newBytes: early.sent.bytes,
                                files: imported.files, bytes: imported.bytes, excluded: imported.excluded)
            result.location = location
            return result
        }
        let signed = published.release.map { ", signed release \($0.sequence) by \(signer!.key.publicKey.keyID)" } ?? ""
        try workspace.openStore().recordCompleted(StoreEvent(
            kind: .publish, manifest: manifest.digest, reason: "image manifest \(image) to \(location)\(signed)"))
        // What went before the engine's turn (``EarlyUploads``) counts too.
        var result = Result(result: .published, manifest: manifest.digest, commit: nil,
                            newObjects: published.newObjects + early.sent.objects,
                            newBytes: published.newBytes + early.sent.bytes, files: imported.files, bytes: imported.bytes,
                            excluded: imported.excluded)
        result.release = published.release
        result.keyID = signer?.key.publicKey.keyID
        result.imageManifest = image
        result.location = location
        return result
    }

    /// `publish --dry-run` against an OCI registry: the folder is imported, the repository asked which blobs
    /// it lacks (`HEAD`), nothing uploaded.
    func planOCI(progress: ProgressHandler?) throws -> Plan {
        _ = try workspace.releaseSigner()
        let registry = try workspace.ociRegistry()
        let (imported, manifest) = try snapshot(progress: progress)
        let session = try registry.beginPublish()
        let missing = try TransferEngine.blobsToSend(manifest, session: session)
        return Plan(manifest: manifest.digest, files: imported.files, bytes: imported.bytes, newObjects: missing.count,
                    newBytes: missing.reduce(0) { $0 + $1.size },
                    wouldPublish: try session.channel(workspace.config.oci.channel) != manifest.digest,
                    excluded: imported.excluded)
    }

    /// Uploads to `registry` of the import's large objects while it hashes the rest (``EarlyUploads``).
    private func earlyUploads(to registry: OCIRegistry) -> EarlyUploads {
        let repository = registry.repository
        return EarlyUploads.fromStore(workspace.storeDir, concurrency: workspace.config.oci.concurrency) { entry, outgoing in
            // One HEAD inside: a blob the registry holds already is not sent, and not counted.
            try repository.uploadBlobs([entry], from: outgoing).present == 0
        }
    }
}
