import Foundation

extension OCIRegistry {
    /// One published set: its digest tag's image manifest and what it holds.
    public struct PublishedSet: Sendable, Equatable {
        /// The model-sync manifest.
        public let manifest: Digest
        /// The image manifest its digest tag names.
        public let imageManifest: Digest
        /// When it was published (`org.opencontainers.image.created`); nil when the annotation is missing.
        public let created: Date?
        /// Files and bytes, from the layers.
        public let files: Int
        public let bytes: UInt64
    }

    /// What `gc --registry` removed (or would remove) from an OCI registry.
    public struct CollectionReport: Sendable, Equatable {
        /// The sets kept: the newest `keep_manifests` and the channel's, newest first.
        public let kept: [PublishedSet]
        /// The sets whose image manifests (and tags) were deleted, newest first.
        public let removed: [PublishedSet]
    }

    /// Every set published under a digest tag, newest first (by `created`; sets without it last, by digest).
    /// A digest tag whose manifest is not a set of that digest is skipped: it is not model-sync's.
    public func publishedSets() throws -> [PublishedSet] {
        var found: [PublishedSet] = []
        for tag in try repository.tags().sorted() {
            guard let digest = Self.digest(ofTag: tag), let read = try? readSet(tag), read.set.digest == digest else { continue }
            found.append(PublishedSet(manifest: digest, imageManifest: read.stored.digest, created: read.set.created,
                                      files: read.set.files.count, bytes: read.set.totalBytes))
        }
        return found.sorted { lhs, rhs in
            switch (lhs.created, rhs.created) {
            case let (left?, right?) where left != right: return left > right
            case (.some, nil): return true
            case (nil, .some): return false
            default: return lhs.manifest < rhs.manifest
            }
        }
    }

    /// Deletes the image manifests (with their tags) of the published sets beyond the newest `keep`, never the
    /// one `channel` names. Blob space comes back when the registry's own garbage collection runs.
    public func collectGarbage(keep: Int, channel: String, dryRun: Bool) throws -> CollectionReport {
        let sets = try publishedSets()
        let channelManifest = try repository.fetchManifest(channel)?.digest
        var kept: [PublishedSet] = [], removed: [PublishedSet] = []
        for set in sets {
            if kept.count < keep || set.imageManifest == channelManifest { kept.append(set) } else { removed.append(set) }
        }
        if !dryRun {
            for set in removed where set.imageManifest != channelManifest {
                try repository.deleteManifest(set.imageManifest)
            }
        }
        return CollectionReport(kept: kept, removed: removed)
    }
}
