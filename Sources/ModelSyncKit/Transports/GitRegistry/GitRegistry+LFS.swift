import Foundation

/// How a git registry uses Git LFS (`git.lfs`, `git.lfs_url`, `git.lfs_concurrency`, `git.username` and the
/// token and key the git remote uses too).
public struct RegistryLFSSettings: Sendable {
    /// `git.lfs`.
    public var mode: GitConfig.LFSMode = .auto
    /// `git.lfs_url`.
    public var url: String?
    /// `git.lfs_concurrency`.
    public var concurrency = 8
    /// `git.allow_insecure_http`: LFS hrefs over plain http to other machines.
    public var allowInsecureHTTP = false
    /// `GIT_SSH_COMMAND` and `GIT_SSH` from the environment, for `git-lfs-authenticate`, as git-lfs reads them.
    public var sshCommand: String?
    public var sshProgram: String?

    /// The defaults: `auto`, no URL, 8 transfers.
    public init() {}
}

/// How each registry file under `objects/` is read by a pull: the git blob holds the bytes, or it is a Git
/// LFS pointer whose object the LFS server holds.
enum RegistryBlobKind: Equatable {
    case raw
    case lfs
}

extension GitRegistry {
    /// Takes `git.lfs*` from the configuration, and `GIT_SSH_COMMAND`/`GIT_SSH` from the environment, as
    /// git-lfs reads them.
    func configureLFS(_ config: Config, environment: [String: String]) {
        lfs.mode = config.git.lfs
        lfs.url = config.git.lfsURL
        lfs.concurrency = config.git.lfsConcurrency
        lfs.allowInsecureHTTP = config.git.allowInsecureHTTP
        lfs.sshCommand = environment["GIT_SSH_COMMAND"]
        lfs.sshProgram = environment["GIT_SSH"]
    }

    /// The `.gitattributes` line `git lfs track '<objects>/**'` writes, so that git-lfs (a clone, `git lfs
    /// pull`) treats every registry object as an LFS file.
    var lfsAttributesLine: String { "\(layout.objectsDirectory)/** filter=lfs diff=lfs merge=lfs -text" }

    /// The endpoint resolver for this registry's remote and settings.
    func lfsResolver() throws -> LFSEndpointResolver {
        var resolver = LFSEndpointResolver(remoteURL: try repository.remoteURL(named: remoteName), lfsURL: lfs.url,
                                           token: credentials.token, username: credentials.basicUser,
                                           sshKey: credentials.sshKey)
        resolver.sshCommand = lfs.sshCommand
        if let program = lfs.sshProgram, !program.isEmpty { resolver.sshProgram = program }
        return resolver
    }

    /// An LFS client for `operation`, or nil when the remote has no LFS endpoint (a path, `file://`, `git://`
    /// without `git.lfs_url`).
    func lfsClient(for operation: LFSEndpointResolver.Operation) throws -> LFSClient? {
        let resolver = try lfsResolver()
        guard let endpoint = try resolver.endpoint(for: operation) else { return nil }
        let http = HTTPClient(urlPolicy: HTTPURLPolicy(allowInsecureHTTP: lfs.allowInsecureHTTP))
        return LFSClient(endpoint: endpoint, http: http, concurrency: lfs.concurrency,
                         refreshEndpoint: resolver.refresher(for: operation))
    }

    /// The client a publish uploads through, or nil when blobs go into the git repository: `git.lfs: false`;
    /// `auto` on a remote without an LFS API or whose endpoint does not answer the batch API. `true` without
    /// any endpoint is a usage error (exit 2).
    func publishingLFSClient() throws -> LFSClient? {
        switch lfs.mode {
        case .off:
            return nil
        case .on:
            guard let client = try lfsClient(for: .upload) else {
                throw UsageError("git.lfs is true but the registry remote \(HTTPError.redact(try repository.remoteURL(named: remoteName))) "
                                 + "has no Git LFS endpoint (a path, file:// or git:// remote)",
                                 hint: "set model_sync.git.lfs_url to the LFS server, or git.lfs: false")
            }
            return client
        case .auto:
            let mayHaveLFS = try lfsResolver().remoteMayHaveLFS
            guard lfs.url != nil || mayHaveLFS else { return nil }
            guard let client = try? lfsClient(for: .upload), client.answersBatchAPI() else { return nil }
            return client
        }
    }

    /// Whether the registry file for `entry` (git blob `oid`) holds the bytes or an LFS pointer to them.
    ///
    /// A pointer naming the entry's digest and size is fetched through LFS — even when the pointer happens to
    /// be as long as the file (a file of 128 bytes has a pointer of 128 bytes): no content is a pointer to
    /// itself. Other content of the entry's size is the bytes (the engine verifies them), pointer text
    /// included; a pointer of another size naming anything else is an integrity error (exit 3), raised before
    /// any byte moves. Anything else is read as bytes, and the engine reports the mismatch.
    func blobKind(of entry: ManifestEntry, oid: GitOID, in commit: GitOID) throws -> RegistryBlobKind {
        let size = try repository.blobSize(oid)
        guard entry.size > 0, size <= UInt64(LFSPointer.maxSize) else { return .raw }
        var bytes: [UInt8] = []
        _ = try repository.readBlob(oid) { chunk in bytes.append(contentsOf: chunk) }
        guard let pointer = LFSPointer.parse(bytes) else { return .raw }
        if pointer.oid == entry.digest && pointer.size == entry.size { return .lfs }
        guard size != entry.size else { return .raw }
        guard pointer.oid == entry.digest, pointer.size == entry.size else {
            throw IntegrityError(.digestMismatch, "the registry's \(layout.objectPath(entry.digest)) at commit \(commit) is a "
                                 + "Git LFS pointer to \(pointer.oid) (\(pointer.size) bytes), but the manifest lists "
                                 + "\(entry.digest) (\(entry.size) bytes) for \(entry.path); nothing was fetched",
                                 hint: "the registry commit was not written by model-sync; publish the set again")
        }
        return .lfs
    }

    /// The `.gitattributes` change that makes the root file name every registry object as an LFS file, or nil
    /// when it does already. Other lines of an existing file are kept.
    func lfsAttributesChange(onto base: GitOID?) throws -> GitTreeChange? {
        var text = ""
        if let base, let entry = try repository.entry(atPath: ".gitattributes", inCommit: base), entry.isBlob {
            text = String(decoding: try repository.blob(atPath: ".gitattributes", inCommit: base), as: UTF8.self)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !lines.contains(lfsAttributesLine) else { return nil }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += lfsAttributesLine + "\n"
        return .upsert(path: ".gitattributes", blob: try repository.createBlob(bytes: Array(text.utf8)))
    }

    /// The hint for a push the host refused with its own message.
    func hostRefusalHint(throughLFS: Bool) -> String {
        if throughLFS {
            return "the host refused the push (the remote: lines say why); the blobs went through Git LFS and the "
                + "commit holds only pointers: check the host's rules for \(branch)"
        }
        return "the host refused the push (the remote: lines say why); hosts such as GitHub refuse large files in "
            + "git: publish the blobs through Git LFS with model_sync.git.lfs: true (docs/registry-layout.md)"
    }
}
