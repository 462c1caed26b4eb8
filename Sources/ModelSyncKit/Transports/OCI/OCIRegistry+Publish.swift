import Foundation

/// Another publisher moved the OCI channel tag while this publish ran, on every attempt (exit 4).
public struct OCIChannelConflict: ModelSyncError {
    /// Which tag moved, from what to what.
    public let message: String
    /// What to do about it.
    public var hint: String? { "another publisher moved the tag; run `model-sync versions` and publish again if needed" }
    /// A remote failure (exit 4), as a git push rejected twice is.
    public var category: ErrorCategory { .remote }
}

extension OCIRegistry: TransferDestination {
    /// An attempt on the registry as it is now.
    public func beginPublish() throws -> any PublishSession {
        OCIPublishSession(registry: self)
    }

    /// The conflict of the last attempt.
    public func lostRace(_ last: any Error) -> any Error {
        last
    }
}

/// One publish attempt: blobs, the config blob (the model-sync manifest) and signature blobs go up first;
/// ``moveChannel(_:to:expecting:summary:)`` then pushes the image manifest under its digest tag, re-reads the
/// channel tag and moves it last only if it still names what this attempt read — the nearest to a
/// compare-and-swap the distribution API allows (it has no conditional tag update).
final class OCIPublishSession: PublishSession {
    private let registry: OCIRegistry
    /// The image manifest digest each channel tag named when read, nil for a tag that did not exist.
    private var readTags: [String: Digest?] = [:]
    private var channelSets: [String: OCISetMapping.ReadSet] = [:]
    private var manifest: Manifest?
    private var signatures: [String: OCISetMapping.SignatureLayer] = [:]
    /// The blobs ``missingBlobs(_:)`` reported missing: their upload needs no `HEAD` of its own.
    private var knownMissing: Set<Digest> = []

    init(registry: OCIRegistry) {
        self.registry = registry
    }

    func channel(_ name: String) throws -> Digest? {
        guard let found = try registry.readSet(name) else {
            readTags[name] = .some(nil)
            return nil
        }
        readTags[name] = found.stored.digest
        channelSets[name] = found.set
        return found.set.digest
    }

    func hasManifest(_ digest: Digest) throws -> Bool {
        (try? registry.set(digest)) != nil
    }

    func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> {
        let missing = try registry.repository.missingBlobs(digests)
        knownMissing.formUnion(missing)
        return missing
    }

    func putBlob(_ blob: OutgoingBlob) throws {
        // The engine sends blobs through putBlobs; this path serves a caller that hands over one small blob.
        let bytes = try FileSystem.readAll(blob.path)
        _ = try registry.repository.putBlob(bytes: bytes)
    }

    func putBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws {
        let unasked = entries.filter { !knownMissing.contains($0.digest) }
        let asked = entries.filter { knownMissing.contains($0.digest) }
        if !asked.isEmpty { try registry.repository.uploadBlobs(asked, from: outgoing, checkPresence: false) }
        if !unasked.isEmpty { try registry.repository.uploadBlobs(unasked, from: outgoing, checkPresence: true) }
    }

    /// Uploads the config blob: the manifest's canonical bytes, whose digest is the manifest's.
    func putManifest(_ manifest: Manifest) throws {
        let digest = try registry.repository.putBlob(bytes: manifest.canonicalBytes)
        guard digest == manifest.digest else {
            throw IntegrityError(.digestMismatch, "\(registry.name) stored the manifest \(manifest.digest) as \(digest)")
        }
        self.manifest = manifest
    }

    func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? {
        switch file {
        case .release(let channel): return try registry.signatureBytes(file.relativePath, of: channelSets[channel])
        case .manifest(let digest): return try registry.signatureBytes(file.relativePath, of: try? registry.set(digest))
        }
    }

    func putSignature(_ file: SignatureFile, bytes: [UInt8]) throws {
        let digest = try registry.repository.putBlob(bytes: bytes)
        signatures[file.relativePath] = OCISetMapping.SignatureLayer(path: file.relativePath, digest: digest,
                                                                     size: UInt64(bytes.count))
    }

    func moveChannel(_ name: String, to digest: Digest, expecting expected: Digest?,
                     summary: PublishSummary) throws -> ChannelUpdate {
        guard let manifest, manifest.digest == digest else {
            preconditionFailure("the engine puts the manifest before it moves the channel")
        }
        let image = OCISetMapping.imageManifest(for: manifest, signatures: try carriedSignatures(of: digest),
                                                created: registry.now())
        let bytes = image.canonicalBytes
        let pushed = try registry.repository.putManifest(bytes, mediaType: OCIImageManifest.mediaType,
                                                          reference: OCIRegistry.digestTag(digest))
        let current = try registry.repository.fetchManifest(name)?.digest
        let read = readTags[name] ?? nil
        guard current == read else {
            return .conflict(OCIChannelConflict(
                message: "\(registry.name):\(name) moved to \(current?.description ?? "nothing") while this publish ran "
                    + "(it was \(read?.description ?? "absent"))"))
        }
        _ = try registry.repository.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: name)
        return .moved(receipt: pushed.description)
    }

    /// The signature layers of the new image manifest: those put in this attempt, plus the manifest's
    /// signature already published with this set when the engine did not renew it.
    private func carriedSignatures(of digest: Digest) throws -> [OCISetMapping.SignatureLayer] {
        var layers = signatures
        let path = SignatureFile.manifest(digest).relativePath
        if layers[path] == nil, let existing = (try? registry.set(digest))?.signatures[path] {
            layers[path] = existing
        }
        return Array(layers.values)
    }
}

@available(*, unavailable)
extension OCIPublishSession: Sendable {}
