import Foundation

/// The git registry: a working clone (`repo_dir`) of the repository that carries manifests and blobs between
/// publishers and clients, under ``RegistryLayout``. Everything goes through libgit2.
///
/// A transport: it reads and writes the registry and streams blobs out of it, but never activates anything.
/// Confined to one task (it owns a ``Repository``).
public final class GitRegistry {
    /// The working clone.
    public let repository: Repository
    /// Paths inside the repository.
    public let layout: RegistryLayout
    /// The remote's name (`remote`).
    public let remoteName: String
    /// The branch (`branch`).
    public let branch: String
    let credentials: GitCredentials
    /// Called between building a commit and pushing it (tests use it to make another publisher win the race).
    var beforePush: (() throws -> Void)?
    /// `git.allow_insecure_http`: a plain `http://` remote on another machine may be used.
    var allowInsecureHTTP = false
    /// The largest manifest read from the registry (``Manifest/maxEncodedBytes``; tests lower it).
    var manifestByteLimit = Manifest.maxEncodedBytes
    /// `git.lfs*`: whether and how blobs go through the remote's Git LFS API.
    public var lfs = RegistryLFSSettings()
    /// Set by a publish session that uploads through LFS, for the hint of a refused push.
    var publishingThroughLFS = false
    /// The remote opened directly when it is on this machine (``LocalRemote``); looked up once.
    private var localRemoteLookup: LocalRemote??

    /// Wraps an opened repository.
    public init(repository: Repository, layout: RegistryLayout, remote: String, branch: String,
                credentials: GitCredentials = GitCredentials()) {
        self.repository = repository
        self.layout = layout
        self.remoteName = remote
        self.branch = branch
        self.credentials = credentials
    }

    /// Opens `repo_dir`, cloning it from `repo_url` when it does not exist yet. A missing `repo_dir` without
    /// `repo_url`, or a `git.token_env` naming an unset variable, is a usage error (exit 2).
    ///
    /// `worktree: false` (clients: the store holds the files) makes a repository created here bare, so no
    /// blob is checked out; an existing `repo_dir` is used as it is. A local `repo_url` (a path or `file://`)
    /// is not cloned: the new repository shares the registry's objects (``LocalRemote``).
    public static func open(config: Config, environment: [String: String], worktree: Bool = true) throws -> GitRegistry {
        let (repoDir, credentials) = try checkConfiguration(config, environment: environment)
        let path = FileSystem.absolute(repoDir)
        let repository: Repository
        if FileManager.default.fileExists(atPath: path) {
            repository = try Repository(openingAt: path)
        } else if let url = config.repoURL, !url.isEmpty, LocalRemote.open(url: url) != nil {
            // A local registry: an empty repository sharing the registry's objects; `synchronize` fills it.
            repository = try Repository.create(at: path, bare: !worktree, initialBranch: config.branch)
            try repository.addRemote(named: config.remote, url: url)
        } else if let url = config.repoURL, !url.isEmpty {
            try RemoteRedirectProbe().check(remote: url, service: "git-upload-pack", credentials: credentials,
                                            repository: path, allowInsecureHTTP: config.git.allowInsecureHTTP)
            repository = try Repository.clone(from: url, to: path, branch: config.branch, bare: !worktree,
                                              credentials: credentials)
        } else {
            throw UsageError("repo_dir \(path) does not exist",
                             hint: "clone the registry there, or set model_sync.repo_url to clone it automatically")
        }
        let registry = GitRegistry(repository: repository, layout: RegistryLayout(subdir: config.repoModelsSubdir),
                                   remote: config.remote, branch: config.branch, credentials: credentials)
        registry.allowInsecureHTTP = config.git.allowInsecureHTTP
        registry.configureLFS(config, environment: environment)
        return registry
    }

    /// The configuration's `repo_dir` and the credentials it names, checked without touching the network or
    /// the repository: an unset `repo_dir`, a `git.ssh_key` that is not a file or a `git.token_env` naming an
    /// unset variable is a usage error (exit 2). A daemon checks this at start.
    public static func checkConfiguration(_ config: Config, environment: [String: String]) throws
        -> (repoDir: String, credentials: GitCredentials) {
        guard let repoDir = config.repoDir, !repoDir.isEmpty else {
            throw UsageError("model_sync.repo_dir is not set", hint: "set repo_dir to a working clone of the model registry")
        }
        if let sshKey = config.git.sshKey, let info = try FileSystem.status(sshKey), !FileSystem.isRegular(info) {
            // libssh2 would block reading a FIFO, or read a device without end.
            throw UsageError("git.ssh_key \(sshKey) is not a regular file", hint: "give the path of the private key file")
        }
        var credentials = GitCredentials(sshKey: config.git.sshKey, username: config.git.username)
        if let tokenEnv = config.git.tokenEnv {
            guard let token = environment[tokenEnv], !token.isEmpty else {
                throw UsageError("git.token_env names \(tokenEnv), which is not set",
                                 hint: "export \(tokenEnv) or put it in the .env file")
            }
            credentials.token = token
        }
        return (repoDir, credentials)
    }

    private var branchReference: String { "refs/heads/" + branch }

    /// The remote's repository when the remote is a path or `file://` URL that libgit2 opens.
    func localRemote() throws -> LocalRemote? {
        if let known = localRemoteLookup { return known }
        let found = LocalRemote.open(url: try repository.remoteURL(named: remoteName))
        localRemoteLookup = .some(found)
        return found
    }

    /// Fetches the branch: from a local remote by sharing its objects (alternates) and copying its tip into
    /// the tracking reference, nothing transferred; else through libgit2 (`+branch:tracking`).
    private func fetch() throws {
        if let local = try localRemote() {
            try repository.addAlternate(objects: local.repository.objectsDirectory)
            if let tip = try local.repository.referenceTarget(branchReference) {
                try repository.setReference(trackingReference, to: tip, logMessage: "model-sync: fetch from \(remoteName)")
            }
            return
        }
        let remote = try repository.remote(named: remoteName)
        try RemoteRedirectProbe().check(remote: remote.url, service: "git-upload-pack", credentials: credentials,
                                        repository: repository.path, allowInsecureHTTP: allowInsecureHTTP)
        try remote.fetch(refspec: "+\(branchReference):\(trackingReference)", credentials: credentials)
    }

    /// Moves the remote's branch to `commit`, as a push refusing anything but a fast-forward would. A local
    /// bare remote without receive hooks gets the missing loose objects hard-linked (or copied) into its object
    /// directory and its branch moved by compare-and-swap, so a publisher that pushed meanwhile makes this
    /// throw ``GitError/Code/nonFastForward`` as a refused push does; any other remote gets libgit2's push.
    private func push(_ commit: GitOID, from pending: String) throws {
        guard let local = try localRemote(), local.acceptsDirectPush else {
            let remote = try repository.remote(named: remoteName)
            try RemoteRedirectProbe().check(remote: remote.url, service: "git-receive-pack", credentials: credentials,
                                            repository: repository.path, allowInsecureHTTP: allowInsecureHTTP)
            do {
                try remote.push(refspec: "\(pending):\(branchReference)", credentials: credentials)
            } catch var error as GitError where error.refusedByHost {
                error.hostRefusalHint = hostRefusalHint(throughLFS: publishingThroughLFS)
                throw error
            }
            return
        }
        let current = try local.repository.referenceTarget(branchReference)
        if let current, !(try repository.hasObject(current) && repository.contains(current, inHistoryOf: commit)) {
            throw GitError(code: .nonFastForward, errorClass: 0,
                           detail: "the remote refused \(branchReference): non-fast-forward (it is at \(current))",
                           operation: "push to \(remoteName)", repositoryPath: repository.path, category: .remote)
        }
        _ = try repository.copyMissingObjects(reachableFrom: commit, to: local.repository)
        try local.repository.updateReference(branchReference, to: commit, expecting: current,
                                             logMessage: "push from model-sync")
    }
    private var trackingReference: String { "refs/remotes/\(remoteName)/\(branch)" }

    // MARK: worktree and remote

    /// Changed or untracked paths of the worktree (empty for a bare repository).
    public func dirtyPaths() throws -> [String] {
        repository.isBare ? [] : try repository.status()
    }

    /// Fetches the branch from the remote and fast-forwards the local branch (and the worktree) to it.
    /// Returns the commit to build on or read from; nil for an empty registry. One that is ahead (an earlier
    /// push failed) is kept. A local branch that has diverged from the remote's (the registry's history was
    /// rewritten, a force-push) is refused (exit 2) for a publisher; a reader (`following`: clients, which
    /// never commit) follows the remote's branch wherever it went, as the channel it is.
    ///
    /// A worktree whose local changes the checkout would overwrite is refused (exit 2, naming the paths)
    /// before anything moves, unless `forceCheckout`: the branch never moves without its worktree.
    @discardableResult
    public func synchronize(forceCheckout: Bool = false, following: Bool = false) throws -> GitOID? {
        try fetch()
        let remoteTip = try repository.referenceTarget(trackingReference)
        let local = try repository.referenceTarget(branchReference)
        let head = try repository.referenceTarget("HEAD")
        switch (local, remoteTip) {
        case (nil, nil):
            try repository.pointHead(atBranch: branch)
            return nil
        case (let local?, nil):
            try moveBranch(to: local, from: head, force: forceCheckout)
            return local
        case (nil, let remoteTip?):
            try moveBranch(to: remoteTip, from: head, force: forceCheckout)
            return remoteTip
        case (_?, let remoteTip?) where following:
            // A reader follows the remote's branch: forward, back to an older commit, or onto a rewritten history.
            try moveBranch(to: remoteTip, from: head, force: forceCheckout)
            return remoteTip
        case (let local?, let remoteTip?):
            let localIsAhead = try repository.contains(remoteTip, inHistoryOf: local)
            if localIsAhead {
                try moveBranch(to: local, from: head, force: forceCheckout)
                return local
            }
            guard try repository.contains(local, inHistoryOf: remoteTip) else {
                throw UsageError("branch \(branch) of \(repository.path) has diverged from \(remoteName)/\(branch) "
                                 + "(the registry's history was rewritten)", hint: divergedHint)
            }
            try moveBranch(to: remoteTip, from: head, force: forceCheckout)
            return remoteTip
        }
    }

    /// A command that works on this `repo_dir` as it is: `reset --hard` needs a worktree, a bare repository
    /// only has its branch to move.
    private var divergedHint: String {
        let tracking = "\(remoteName)/\(branch)"
        if repository.isBare {
            return "keep the remote's history: git -C \(repository.path) update-ref \(branchReference) refs/remotes/\(tracking)"
        }
        return "keep the remote's history: git -C \(repository.path) reset --hard \(tracking)"
    }

    /// Checks `commit` out (when HEAD is elsewhere) and points the branch and HEAD at it. Local changes the
    /// checkout would overwrite are refused first, so nothing moves (the branch last, after the files).
    private func moveBranch(to commit: GitOID, from head: GitOID?, force: Bool) throws {
        if head != commit { try checkTreePaths(commit) }
        if head != commit && !force {
            let conflicts = try repository.checkoutConflicts(commit, baseline: head)
            if !conflicts.isEmpty {
                let listed = conflicts.prefix(10).joined(separator: ", ")
                let more = conflicts.count > 10 ? " and \(conflicts.count - 10) more" : ""
                throw UsageError("the registry worktree \(repository.path) has local changes that updating it to "
                                 + "\(remoteName)/\(branch) would overwrite: \(listed)\(more); nothing was changed",
                                 hint: "commit, stash (git -C \(repository.path) stash -u) or discard them, then run again")
            }
        }
        if try repository.referenceTarget(branchReference) != commit {
            try repository.setReference(branchReference, to: commit, logMessage: "model-sync: fast-forward")
        }
        try repository.pointHead(atBranch: branch)
        guard head != commit else { return }
        try repository.checkout(commit, baseline: head, force: force, streamingAdditions: true)
    }

    /// Refuses a commit whose tree holds a path the project's name rules (``ManifestPath``) refuse, before
    /// any file of it is written to the worktree: a fetched tree comes from whoever could push.
    private func checkTreePaths(_ commit: GitOID) throws {
        try repository.checkPaths(inCommit: commit) { raw in
            if let problem = ManifestPath.problem(withBytes: raw) {
                throw IntegrityError(.invalidManifest, "the registry's commit \(commit) holds an invalid path: \(problem)",
                                     hint: "the commit was not written by model-sync; remove the path in the registry")
            }
        }
    }

    // MARK: reading

    /// The digest in `channels/latest` at `commit`, nil when the registry has none.
    public func latestManifest(in commit: GitOID) throws -> Digest? {
        try channel(RegistryLayout.latest, in: commit)
    }

    /// The digest in `channels/<name>` at `commit`, nil when the registry has no such channel.
    public func channel(_ name: String, in commit: GitOID) throws -> Digest? {
        let path = layout.channelPath(name)
        guard try repository.entry(atPath: path, inCommit: commit) != nil else { return nil }
        return try RegistryLayout.parseChannel(repository.blob(atPath: path, inCommit: commit))
    }

    /// The bytes of a signature file at `commit`, nil when the commit has none; at most 1 MiB is read, since
    /// a signature file is a few hundred bytes and the registry is not trusted.
    public func signatureBytes(_ file: SignatureFile, in commit: GitOID) throws -> [UInt8]? {
        let path = layout.signaturePath(file)
        guard let entry = try repository.entry(atPath: path, inCommit: commit), entry.isBlob else { return nil }
        guard try repository.blobSize(entry.oid) <= 1 << 20 else {
            throw IntegrityError(.invalidSignature, "the registry's \(path) at commit \(commit) is larger than 1 MiB")
        }
        return try repository.blob(atPath: path, inCommit: commit)
    }

    /// The bytes of manifest `digest` at `commit`, unchecked (the transfer engine checks them). A manifest the
    /// commit lacks, or one larger than ``Manifest/maxEncodedBytes`` (its size read from the object's header,
    /// before the blob is loaded), is an integrity error (exit 3).
    public func manifestBytes(_ digest: Digest, in commit: GitOID) throws -> [UInt8] {
        let path = layout.manifestPath(digest)
        guard let entry = try repository.entry(atPath: path, inCommit: commit) else {
            throw IntegrityError(.missingObject, "the registry's commit \(commit) has no \(path)",
                                 hint: "channels/latest names a manifest that was never published")
        }
        let size = try repository.blobSize(entry.oid)
        guard size <= UInt64(manifestByteLimit) else {
            throw IntegrityError(.invalidManifest, "the registry's \(path) is \(size) bytes, more than the "
                                 + "\(manifestByteLimit) bytes a manifest may have",
                                 hint: "the publisher's manifest is too large (or not a manifest); nothing was fetched")
        }
        return try repository.blob(atPath: path, inCommit: commit)
    }

    /// The manifest `digest` at `commit`, checked: its bytes hash to the digest its file is named by, and it
    /// validates (canonical encoding, safe paths). Anything else is an integrity error (exit 3).
    public func manifest(_ digest: Digest, in commit: GitOID) throws -> Manifest {
        try Manifest.decode(manifestBytes(digest, in: commit), expecting: digest)
    }

    /// Streams the blob `digest` at `commit` to `body` (chunks of at most 1 MiB); the caller verifies the digest.
    public func readObject(_ digest: Digest, in commit: GitOID, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let path = layout.objectPath(digest)
        guard let entry = try repository.entry(atPath: path, inCommit: commit), entry.isBlob else {
            throw IntegrityError(.missingObject, "the registry's commit \(commit) has no \(path)",
                                 hint: "the publisher did not push it, or `gc --registry` removed it")
        }
        _ = try repository.readBlob(entry.oid, into: body)
    }

    /// The digests of the blobs under `objects/` at `commit`, with their git ids.
    func objects(in commit: GitOID?) throws -> [Digest: GitOID] {
        guard let commit else { return [:] }
        var result: [Digest: GitOID] = [:]
        for (path, oid) in try repository.blobs(under: layout.objectsDirectory, inCommit: commit) {
            let parts = path.split(separator: "/")
            guard parts.count == 2, let digest = try? Digest(parsing: Digest.prefix + parts[1]),
                  parts[0] == digest.fanout else { continue }
            result[digest] = oid
        }
        return result
    }

    // MARK: writing

    /// The outcome of one push attempt.
    enum PushAttempt {
        /// The remote's branch is at `commit`; the local branch, worktree and tracking reference followed.
        case pushed(GitOID)
        /// Another publisher pushed first (a non-fast-forward refusal); nothing moved.
        case rejected(GitError)
    }

    /// Builds one commit on `base` with `changes` and pushes it. The commit waits under a private reference
    /// until the push succeeds, so the local branch moves only once the remote's did; a rejection as
    /// non-fast-forward is returned, not thrown, for the caller to start over on the new tip.
    func pushCommit(_ changes: [GitTreeChange], onto base: GitOID?, message: String, author: GitSignature) throws -> PushAttempt {
        let pending = "refs/model-sync/pending"
        try repository.disableDeltaSearch()
        let tree = try repository.tree(applying: changes, toCommit: base)
        let commit = try repository.createCommit(tree: tree, parents: base.map { [$0] } ?? [],
                                                 message: message, author: author)
        try repository.setReference(pending, to: commit, logMessage: "model-sync: publish")
        try beforePush?()
        do {
            try push(commit, from: pending)
        } catch let error as GitError where error.code == .nonFastForward {
            return .rejected(error)
        }
        try repository.deleteReference(pending)
        let head = try repository.referenceTarget("HEAD")
        try moveBranch(to: commit, from: head, force: false)
        try repository.setReference(trackingReference, to: commit, logMessage: "model-sync: pushed")
        return .pushed(commit)
    }

    /// The error for a publisher that lost the race on every attempt (exit 4).
    func lostRace(_ error: any Error) -> any Error {
        guard let error = error as? GitError else { return error }
        return GitError(code: error.code, errorClass: error.errorClass,
                        detail: error.detail + " (another publisher pushed again while this one retried)",
                        operation: error.operation, repositoryPath: error.repositoryPath, category: .remote)
    }

    /// Builds a commit on top of the registry's tip with `changes(base)` and pushes it; when another publisher
    /// pushed first, fetches, rebuilds on the new tip and retries once, then fails (exit 4). `changes`
    /// returning nil means nothing to commit. Used by `gc --registry`; publishing goes through the
    /// ``TransferEngine`` and ``GitRegistryDestination``.
    func commitAndPush(author: GitSignature, message: (GitOID?) throws -> String,
                       changes: (GitOID?) throws -> [GitTreeChange]?) throws -> GitOID? {
        var lastRejection: GitError?
        for _ in 1...TransferEngine.publishAttempts {
            let base = try synchronize()
            guard let list = try changes(base) else { return nil }
            switch try pushCommit(list, onto: base, message: message(base), author: author) {
            case .pushed(let commit): return commit
            case .rejected(let error): lastRejection = error
            }
        }
        throw lostRace(lastRejection!)
    }
}

@available(*, unavailable)
extension GitRegistry: Sendable {}
