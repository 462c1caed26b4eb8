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

    /// Every set published under a digest tag, newest first (``newestFirst(_:channelManifest:)``; the set
    /// the tag `channel` names wins a tie).
    ///
    /// The digest tags' manifests are fetched ``OCIRepository/concurrency`` at a time. A digest tag whose
    /// manifest is not a set of that digest is skipped: it is not model-sync's. A manifest that cannot be
    /// fetched stops the listing with that request's error; when several fail, the one of the first tag in
    /// tag order is reported, as a one-by-one listing would.
    public func publishedSets(channel: String? = nil) throws -> [PublishedSet] {
        let channelManifest = try channel.flatMap { try repository.fetchManifest($0)?.digest }
        return Self.newestFirst(try fetchPublishedSets(), channelManifest: channelManifest)
    }

    /// The sets `publishedSets` finds, in tag order, their manifests fetched in parallel.
    private func fetchPublishedSets() throws -> [PublishedSet] {
        let tags = try repository.tags().sorted().compactMap { tag in Self.digest(ofTag: tag).map { (tag, $0) } }
        let repository = repository, name = name
        let found = Locked([PublishedSet?](repeating: nil, count: tags.count))
        // The failure of the lowest tag index. Only tags after a failed one are skipped; workers take tags in
        // order, so every tag before it is fetched, and the lowest failed index is the tag a one-by-one
        // listing would have stopped at.
        let failure = Locked<(index: Int, error: any Error)?>(nil)
        try TransferWorkers().run(Array(tags.indices), threads: repository.concurrency) { index in
            if let failed = failure.withLock({ $0?.index }), failed < index { return }
            let (tag, digest) = tags[index]
            do {
                guard let stored = try repository.fetchManifest(tag),
                      let set = try? Self.decodeSet(stored, what: "\(name):\(tag)"), set.digest == digest else { return }
                let published = PublishedSet(manifest: digest, imageManifest: stored.digest, created: set.created,
                                             files: set.files.count, bytes: set.totalBytes)
                found.withLock { $0[index] = published }
            } catch {
                failure.withLock { if $0 == nil || index < $0!.index { $0 = (index, error) } }
            }
        }
        if let first = failure.withLock({ $0 }) { throw first.error }
        return found.withLock { $0 }.compactMap { $0 }
    }

    /// `sets` newest first by `created`, to the microsecond publishes write. Equal or missing times (several
    /// sets stamped in one second by an older model-sync, another tool, clock skew between publishers) fall
    /// back to the set `channelManifest` names first — the channel tag moves last in a publish, so it names
    /// the last of them published — then to the model-sync manifest digest: not a time, but the same order on
    /// every machine and in every run, so `versions` and `gc --registry` agree and repeated collections never
    /// pick a different set to delete. Sets without a time come after every set with one.
    static func newestFirst(_ sets: [PublishedSet], channelManifest: Digest?) -> [PublishedSet] {
        sets.sorted { lhs, rhs in
            switch (lhs.created, rhs.created) {
            case let (left?, right?) where left != right: return left > right
            case (.some, nil): return true
            case (nil, .some): return false
            default:
                let (leftIsChannel, rightIsChannel) = (lhs.imageManifest == channelManifest, rhs.imageManifest == channelManifest)
                if leftIsChannel != rightIsChannel { return leftIsChannel }
                return lhs.manifest < rhs.manifest
            }
        }
    }

    /// Deletes the image manifests (with their tags) of the published sets beyond the newest `keep`, never the
    /// one `channel` names. Blob space comes back when the registry's own garbage collection runs.
    public func collectGarbage(keep: Int, channel: String, dryRun: Bool) throws -> CollectionReport {
        let channelManifest = try repository.fetchManifest(channel)?.digest
        let sets = Self.newestFirst(try fetchPublishedSets(), channelManifest: channelManifest)
        var kept: [PublishedSet] = [], removed: [PublishedSet] = []
        for set in sets {
            if kept.count < keep || set.imageManifest == channelManifest { kept.append(set) } else { removed.append(set) }
        }
        if !dryRun {
            for set in removed {
                try repository.deleteManifest(set.imageManifest)
            }
        }
        return CollectionReport(kept: kept, removed: removed)
    }
}
