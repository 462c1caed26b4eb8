import Foundation

/// One value a channel took in the registry's history: the commit that set it, when, and the manifest.
public struct ChannelChange: Sendable, Equatable {
    /// The commit that moved the channel to `manifest`.
    public let commit: GitOID
    /// Its committer time.
    public let time: Date
    /// The manifest the channel named from that commit on.
    public let manifest: Digest
}

extension GitRegistry {
    /// The values channel `name` took along the first-parent history of `tip`, newest first, at most `limit`:
    /// each with the commit that set it. A manifest published twice (a publisher that rolled back) appears
    /// twice, as it happened.
    public func channelHistory(_ name: String, from tip: GitOID, limit: Int) throws -> [ChannelChange] {
        var changes: [ChannelChange] = []
        var cursor: GitOID? = tip
        var value = try? channel(name, in: tip)
        while let commit = cursor, changes.count < limit {
            let summary = try repository.commitSummary(commit)
            let parentValue = summary.firstParent.flatMap { try? channel(name, in: $0) }
            if let value, value != parentValue {
                changes.append(ChannelChange(commit: commit, time: summary.time, manifest: value))
            }
            cursor = summary.firstParent
            value = parentValue
        }
        return changes
    }

    /// The manifests whose files sit under `manifests/sha256/` at `commit`.
    public func publishedManifests(in commit: GitOID) throws -> [Digest] {
        try repository.blobs(under: layout.manifestsDirectory, inCommit: commit).keys.compactMap { name in
            guard name.hasSuffix(".json"), !name.contains("/") else { return nil }
            return try? Digest(parsing: Digest.prefix + name.dropLast(5))
        }
    }
}
