#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncGit2
import Foundation

/// Who a commit is by: name and email (the time is the commit's).
public struct GitSignature: Sendable, Hashable {
    /// The name.
    public var name: String
    /// The email address.
    public var email: String

    /// A signature.
    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// One change to a tree: put a blob at a path, or remove the path.
public enum GitTreeChange: Sendable, Hashable {
    /// Add or replace the blob at `path` (slash-separated), with `executable` choosing 0755 over 0644.
    case upsert(path: String, blob: GitOID, executable: Bool = false)
    /// Remove the entry at `path`.
    case remove(path: String)

    var path: String {
        switch self {
        case .upsert(let path, _, _), .remove(let path): path
        }
    }
}

extension Repository {
    // MARK: clone

    /// Clones `url` into `path` (`git_clone`), checking out `branch` when the remote has it (unless `bare`).
    /// An empty remote gives an empty repository whose HEAD names `branch`. Failures are remote errors.
    public static func clone(from url: String, to path: String, branch: String, bare: Bool = false,
                             credentials: GitCredentials = GitCredentials()) throws -> Repository {
        _ = gitInitialized
        let state = GitRemoteCallbackState(credentials: credentials)
        var options = git_clone_options()
        git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION))
        state.install(in: &options.fetch_opts.callbacks)
        options.fetch_opts.follow_redirects = GitRemote.redirectPolicy
        options.bare = bare ? 1 : 0
        var handle: OpaquePointer?
        let code = withExtendedLifetime(state) { git_clone(&handle, url, path, &options) }
        guard code == 0, let handle else {
            let error = GitError.last(code, operation: "clone \(credentials.scrub(url))", repositoryPath: path,
                                      category: .remote)
            throw GitError(code: error.code, errorClass: error.errorClass, detail: credentials.scrub(error.detail),
                           operation: error.operation, repositoryPath: path, category: .remote)
        }
        let repository = Repository(path: path, handle: handle)
        if try repository.headCommit() == nil {
            try repository.pointHead(atBranch: branch)
        }
        return repository
    }

    // MARK: references

    /// The commit a reference names (`refs/heads/main`, `refs/remotes/origin/main`, `HEAD`), nil when absent.
    public func referenceTarget(_ name: String) throws -> GitOID? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, handle, name)
        if code == GIT_ENOTFOUND.rawValue || code == GIT_EUNBORNBRANCH.rawValue { return nil }
        guard code == 0 else { throw GitError.last(code, operation: "resolve \(name)", repositoryPath: path) }
        return GitOID(oid)
    }

    /// Points the reference `name` at `oid`, creating or moving it (`git_reference_create`, forced).
    public func setReference(_ name: String, to oid: GitOID, logMessage: String) throws {
        var raw = oid.gitOID
        var reference: OpaquePointer?
        let code = git_reference_create(&reference, handle, name, &raw, 1, logMessage)
        guard code == 0 else { throw GitError.last(code, operation: "set \(name) to \(oid)", repositoryPath: path) }
        git_reference_free(reference)
    }

    /// Makes HEAD a symbolic reference to `refs/heads/<branch>` (which may not exist yet).
    public func pointHead(atBranch branch: String) throws {
        let code = git_repository_set_head(handle, "refs/heads/" + branch)
        guard code == 0 else { throw GitError.last(code, operation: "point HEAD at \(branch)", repositoryPath: path) }
    }

    /// True when `commit` has `ancestor` in its history, or is it (`git_graph_descendant_of`).
    public func contains(_ ancestor: GitOID, inHistoryOf commit: GitOID) throws -> Bool {
        if ancestor == commit { return true }
        var rawCommit = commit.gitOID
        var rawAncestor = ancestor.gitOID
        let code = git_graph_descendant_of(handle, &rawCommit, &rawAncestor)
        guard code >= 0 else { throw GitError.last(code, operation: "compare \(commit) with \(ancestor)", repositoryPath: path) }
        return code == 1
    }

    // MARK: objects

    /// Writes the file at `path` as a blob (`git_blob_create_from_disk`). A path outside the worktree gets
    /// no filters, so libgit2 streams it into a loose object in 64 KiB pieces instead of loading it whole.
    public func createBlob(fromFileAt path: String) throws -> GitOID {
        var oid = git_oid()
        let code = git_blob_create_from_disk(&oid, handle, path)
        guard code == 0 else { throw GitError.last(code, operation: "write a blob from \(path)", repositoryPath: self.path) }
        return GitOID(oid)
    }

    /// Writes `bytes` as a blob (`git_blob_create_from_buffer`).
    public func createBlob(bytes: [UInt8]) throws -> GitOID {
        var oid = git_oid()
        let code = bytes.withUnsafeBytes { git_blob_create_from_buffer(&oid, handle, $0.baseAddress, $0.count) }
        guard code == 0 else { throw GitError.last(code, operation: "write a blob", repositoryPath: path) }
        return GitOID(oid)
    }

    /// True when the object database holds `oid` (`git_odb_exists`).
    public func hasObject(_ oid: GitOID) throws -> Bool {
        var odb: OpaquePointer?
        let code = git_repository_odb(&odb, handle)
        guard code == 0, let odb else { throw GitError.last(code, operation: "open the object database", repositoryPath: path) }
        defer { git_odb_free(odb) }
        var raw = oid.gitOID
        return git_odb_exists(odb, &raw) == 1
    }

    /// The tree of `commit` (or the empty tree when `commit` is nil) with `changes` applied, written to the
    /// object database (`git_tree_create_updated`, which rebuilds only the subtrees on the changed paths
    /// through tree builders). Returns the new root tree's id.
    public func tree(applying changes: [GitTreeChange], toCommit commit: GitOID?) throws -> GitOID {
        let base: GitTree
        if let commit {
            base = try GitCommit(commit, in: self).tree()
        } else {
            base = try emptyTree()
        }
        // libgit2 walks the updates as a stack of directories: give them in path order.
        let sorted = changes.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        let paths = sorted.map { strdup($0.path) }
        defer { paths.forEach { free($0) } }
        var updates: [git_tree_update] = zip(sorted, paths).map { change, path in
            var update = git_tree_update()
            update.path = UnsafePointer(path)
            switch change {
            case .upsert(_, let blob, let executable):
                update.action = GIT_TREE_UPDATE_UPSERT
                update.id = blob.gitOID
                update.filemode = executable ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB
            case .remove:
                update.action = GIT_TREE_UPDATE_REMOVE
            }
            return update
        }
        var oid = git_oid()
        let code = git_tree_create_updated(&oid, handle, base.handle, updates.count, &updates)
        guard code == 0 else { throw GitError.last(code, operation: "build a tree", repositoryPath: path) }
        return GitOID(oid)
    }

    private func emptyTree() throws -> GitTree {
        var builder: OpaquePointer?
        var code = git_treebuilder_new(&builder, handle, nil)
        guard code == 0, let builder else { throw GitError.last(code, operation: "build a tree", repositoryPath: path) }
        defer { git_treebuilder_free(builder) }
        var oid = git_oid()
        code = git_treebuilder_write(&oid, builder)
        guard code == 0 else { throw GitError.last(code, operation: "write the empty tree", repositoryPath: path) }
        return try GitTree(GitOID(oid), in: self)
    }

    /// The signature from `user.name`/`user.email` in the repository's configuration (`git_signature_default`),
    /// nil when they are not set.
    public func configuredSignature() -> GitSignature? {
        var signature: UnsafeMutablePointer<git_signature>?
        guard git_signature_default(&signature, handle) == 0, let signature else {
            git_error_clear()
            return nil
        }
        defer { git_signature_free(signature) }
        return GitSignature(name: String(cString: signature.pointee.name), email: String(cString: signature.pointee.email))
    }

    /// Writes a commit of `tree` with `parents` (`git_commit_create`), moving no reference.
    public func createCommit(tree: GitOID, parents: [GitOID], message: String, author: GitSignature) throws -> GitOID {
        var signature: UnsafeMutablePointer<git_signature>?
        var code = git_signature_now(&signature, author.name, author.email)
        guard code == 0, let signature else { throw GitError.last(code, operation: "make a signature", repositoryPath: path) }
        defer { git_signature_free(signature) }
        let treeObject = try GitTree(tree, in: self)
        let parentCommits = try parents.map { try GitCommit($0, in: self) }
        var parentHandles: [OpaquePointer?] = parentCommits.map { $0.handle }
        var oid = git_oid()
        code = parentHandles.withUnsafeMutableBufferPointer { buffer in
            git_commit_create(&oid, handle, nil, signature, signature, "UTF-8", message, treeObject.handle,
                              buffer.count, buffer.baseAddress)
        }
        guard code == 0 else { throw GitError.last(code, operation: "commit", repositoryPath: path) }
        return GitOID(oid)
    }

    /// The commit's message, first parent and committer time, for walking history.
    public func commitSummary(_ commit: GitOID) throws -> (message: String, firstParent: GitOID?, time: Date) {
        let object = try GitCommit(commit, in: self)
        return (object.message, object.parentOIDs.first, object.time)
    }

    /// The blobs below `directory` in the commit's tree, recursively: path (relative to `directory`) → id.
    /// Empty when `directory` is absent.
    public func blobs(under directory: String, inCommit commit: GitOID) throws -> [String: GitOID] {
        let root = try GitCommit(commit, in: self).tree()
        guard let entry = try root.entry(atPath: directory), !entry.isBlob else { return [:] }
        var result: [String: GitOID] = [:]
        try collectBlobs(tree: entry.oid, prefix: "", into: &result)
        return result
    }

    /// Every blob of the commit's tree, recursively: path → id.
    func allBlobs(inCommit commit: GitOID) throws -> [String: GitOID] {
        var result: [String: GitOID] = [:]
        try collectBlobs(tree: GitCommit(commit, in: self).treeOID, prefix: "", into: &result)
        return result
    }

    /// Hands `check` the path of every blob and tree of the commit, as the raw bytes the tree holds
    /// (`git_tree_entry_name` is a C string: git separates names with NUL, so none holds one), before the
    /// caller writes any of them to disk. A path `check` throws for stops the walk.
    public func checkPaths(inCommit commit: GitOID, _ check: ([UInt8]) throws -> Void) throws {
        try checkPaths(tree: GitCommit(commit, in: self).treeOID, prefix: [], check)
    }

    private func checkPaths(tree oid: GitOID, prefix: [UInt8], _ check: ([UInt8]) throws -> Void) throws {
        let tree = try GitTree(oid, in: self)
        for index in 0..<git_tree_entrycount(tree.handle) {
            guard let entry = git_tree_entry_byindex(tree.handle, index), let name = git_tree_entry_name(entry) else { continue }
            let path = prefix + UnsafeBufferPointer(start: name, count: strlen(name)).map { UInt8(bitPattern: $0) }
            try check(path)
            if git_tree_entry_type(entry) == GIT_OBJECT_TREE {
                try checkPaths(tree: GitOID(git_tree_entry_id(entry).pointee), prefix: path + [UInt8(ascii: "/")], check)
            }
        }
    }

    private func collectBlobs(tree oid: GitOID, prefix: String, into result: inout [String: GitOID]) throws {
        let tree = try GitTree(oid, in: self)
        for index in 0..<git_tree_entrycount(tree.handle) {
            guard let entry = git_tree_entry_byindex(tree.handle, index) else { continue }
            let name = prefix + String(cString: git_tree_entry_name(entry))
            let id = GitOID(git_tree_entry_id(entry).pointee)
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_BLOB: result[name] = id
            case GIT_OBJECT_TREE: try collectBlobs(tree: id, prefix: name + "/", into: &result)
            default: continue
            }
        }
    }

    /// The size of a blob without reading it (`git_odb_read_header`).
    public func blobSize(_ oid: GitOID) throws -> UInt64 {
        var odb: OpaquePointer?
        var code = git_repository_odb(&odb, handle)
        guard code == 0, let odb else { throw GitError.last(code, operation: "open the object database", repositoryPath: path) }
        defer { git_odb_free(odb) }
        var raw = oid.gitOID
        var length = 0
        var type = GIT_OBJECT_ANY
        code = git_odb_read_header(&length, &type, odb, &raw)
        guard code == 0 else { throw GitError.last(code, operation: "read object \(oid)", repositoryPath: path) }
        return UInt64(length)
    }

    // MARK: worktree

    /// Makes the index and worktree match HEAD (`git_checkout_head`). `force` overwrites local changes
    /// (used only when the user allowed a dirty worktree); otherwise a conflicting local change fails.
    public func checkoutHead(force: Bool) throws {
        guard !isBare else { return }
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = force ? GIT_CHECKOUT_FORCE.rawValue : GIT_CHECKOUT_SAFE.rawValue
        let code = git_checkout_head(handle, &options)
        guard code == 0 else { throw GitError.last(code, operation: "check out HEAD", repositoryPath: path) }
    }

    /// Makes the index and worktree match `commit`, from `baseline` (the commit they matched so far; nil for
    /// none). Wraps `git_checkout_tree` with an explicit baseline, because HEAD may already name `commit`.
    /// `force` overwrites local changes; otherwise a conflicting local change fails the checkout.
    public func checkout(_ commit: GitOID, baseline: GitOID?, force: Bool) throws {
        guard !isBare else { return }
        let target = try GitCommit(commit, in: self)
        let base = try baseline.map { try GitCommit($0, in: self).tree() } ?? emptyTree()
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = force ? GIT_CHECKOUT_FORCE.rawValue : GIT_CHECKOUT_SAFE.rawValue
        options.baseline = base.handle
        let code = git_checkout_tree(handle, target.handle, &options)
        guard code == 0 else { throw GitError.last(code, operation: "check out \(commit)", repositoryPath: path) }
    }

    /// The worktree paths a safe checkout of `commit` (from `baseline`) would refuse to overwrite because they
    /// hold local changes, found without touching anything (`GIT_CHECKOUT_DRY_RUN`, conflict notifications).
    /// Empty for a bare repository.
    public func checkoutConflicts(_ commit: GitOID, baseline: GitOID?) throws -> [String] {
        guard !isBare else { return [] }
        let target = try GitCommit(commit, in: self)
        let base = try baseline.map { try GitCommit($0, in: self).tree() } ?? emptyTree()
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue | GIT_CHECKOUT_DRY_RUN.rawValue
        options.baseline = base.handle
        options.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT.rawValue
        let conflicts = CheckoutConflicts()
        options.notify_payload = Unmanaged.passUnretained(conflicts).toOpaque()
        options.notify_cb = { _, path, _, _, _, payload in
            guard let payload, let path else { return 0 }
            Unmanaged<CheckoutConflicts>.fromOpaque(payload).takeUnretainedValue().paths.append(String(cString: path))
            return 0  // keep going: every conflicting path is reported, not just the first
        }
        let code = withExtendedLifetime(conflicts) { git_checkout_tree(handle, target.handle, &options) }
        // With conflicts a dry run still fails (GIT_ECONFLICT) after notifying each of them.
        guard code == 0 || !conflicts.paths.isEmpty else {
            throw GitError.last(code, operation: "check whether \(commit) can be checked out", repositoryPath: path)
        }
        return conflicts.paths
    }

    /// Deletes a reference when it exists (`git_reference_remove`).
    public func deleteReference(_ name: String) throws {
        let code = git_reference_remove(handle, name)
        guard code == 0 || code == GIT_ENOTFOUND.rawValue else {
            throw GitError.last(code, operation: "delete \(name)", repositoryPath: path)
        }
    }

    /// Turns off the delta search of the packs this handle builds for a push, without touching any file of
    /// the repository: model blobs never delta against each other, and the search reads every object under
    /// the big-file threshold whole. libgit2 1.5 reads that threshold from `pack.deltaCacheSize` (not git's
    /// `core.bigFileThreshold`; see `packbuilder_config`), so a 1-byte value at the application level of this
    /// handle's configuration makes every object "big". The file `model-sync-pack.config` in the git directory
    /// carries it (libgit2 re-reads config files when they change, so it stays); the git CLI never reads it.
    func disableDeltaSearch() throws {
        var config: OpaquePointer?
        var code = git_repository_config(&config, handle)
        guard code == 0, let config else { throw GitError.last(code, operation: "read the configuration", repositoryPath: path) }
        defer { git_config_free(config) }
        let file = String(cString: git_repository_path(handle)) + "model-sync-pack.config"
        // Replaced by rename, never opened for writing in place: a link planted there is not followed.
        try DurableFile.write(Array("[pack]\n\tdeltaCacheSize = 1\n".utf8), to: file)
        code = git_config_add_file_ondisk(config, file, GIT_CONFIG_LEVEL_APP, handle, 1)
        guard code == 0 else { throw GitError.last(code, operation: "add \(file) to the configuration", repositoryPath: path) }
    }

    /// Reads a remote by name, for fetching and pushing.
    func remote(named name: String) throws -> GitRemote { try GitRemote(named: name, in: self) }
}

/// Collects the paths a dry-run checkout reports as conflicts; the notify callback's payload.
private final class CheckoutConflicts {
    var paths: [String] = []
}

@available(*, unavailable)
extension CheckoutConflicts: Sendable {}
