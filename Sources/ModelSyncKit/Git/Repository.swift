internal import CModelSyncGit2

/// libgit2 initialized once per process, on first use (a global `let` is initialized lazily and atomically).
/// Never shut down: libgit2 keeps global state that other threads may still use.
let gitInitialized: Void = {
    git_libgit2_init()
    return ()
}()

/// A git repository (worktree or bare) opened through libgit2.
///
/// The base for the git registry transport: open or create a repository, find HEAD, read blobs from a
/// commit's tree, and list the worktree's changes.
///
/// ```swift
/// let repository = try Repository(openingAt: repoDir)
/// if let head = try repository.headCommit() {
///     let latest = try repository.blob(atPath: "models/channels/latest", inCommit: head)
/// }
/// ```
public final class Repository {
    /// The path the repository was opened or created at.
    public let path: String
    /// The `git_repository*`, owned; objects looked up from it hold a reference to this class so it is
    /// freed last.
    let handle: OpaquePointer

    /// The files blobs were written from through this handle (a checkout links them instead of writing).
    let blobSources = BlobSources()

    /// Chunk size for ``readBlob(atPath:inCommit:into:)``.
    static let chunkSize = 1 << 20

    init(path: String, handle: OpaquePointer) {
        self.path = path
        self.handle = handle
    }

    /// Opens the repository at `path`: a worktree (with `.git`) or a bare repository. Parent directories are
    /// not searched (`GIT_REPOSITORY_OPEN_NO_SEARCH`), so a path inside another repository is not mistaken
    /// for it. A path that holds no repository throws a ``GitError`` with category `.usage`.
    public convenience init(openingAt path: String) throws {
        _ = gitInitialized
        var handle: OpaquePointer?
        let code = git_repository_open_ext(&handle, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "open", repositoryPath: path,
                                category: code == GIT_ENOTFOUND.rawValue ? .usage : nil)
        }
        self.init(path: path, handle: handle)
    }

    /// Creates a repository at `path` (and missing parent directories), bare or with a worktree.
    /// `initialBranch` names the branch HEAD points to (libgit2's default otherwise: `init.defaultBranch`,
    /// else `master`). Wraps `git_repository_init_ext`.
    public static func create(at path: String, bare: Bool = false, initialBranch: String? = nil) throws -> Repository {
        _ = gitInitialized
        var options = git_repository_init_options()
        git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | (bare ? GIT_REPOSITORY_INIT_BARE.rawValue : 0)
        var handle: OpaquePointer?
        let code: Int32
        if let initialBranch {
            code = initialBranch.withCString { branch in
                options.initial_head = branch
                return git_repository_init_ext(&handle, path, &options)
            }
        } else {
            code = git_repository_init_ext(&handle, path, &options)
        }
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "init", repositoryPath: path)
        }
        return Repository(path: path, handle: handle)
    }

    deinit {
        git_repository_free(handle)
    }

    /// True for a bare repository (no worktree).
    public var isBare: Bool { git_repository_is_bare(handle) == 1 }

    /// The worktree's directory (with a trailing slash, as libgit2 gives it), nil for a bare repository.
    public var workingDirectory: String? {
        git_repository_workdir(handle).map { String(cString: $0) }
    }

    /// The commit HEAD points to, or nil when HEAD's branch has no commit yet (a new repository).
    public func headCommit() throws -> GitOID? {
        let unborn = git_repository_head_unborn(handle)
        if unborn == 1 { return nil }
        guard unborn == 0 else {
            throw GitError.last(unborn, operation: "read HEAD", repositoryPath: path)
        }
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, handle, "HEAD")
        guard code == 0 else {
            throw GitError.last(code, operation: "read HEAD", repositoryPath: path)
        }
        return GitOID(oid)
    }

    /// The id and mode of what `path` names in the commit's tree, nil when the path is absent.
    /// `path` is slash-separated and relative to the root of the tree.
    public func entry(atPath path: String, inCommit commit: GitOID) throws -> GitTreeEntry? {
        try GitCommit(commit, in: self).tree().entry(atPath: path)
    }

    /// The bytes of the file at `path` in the commit's tree, loaded whole: for small files (manifests,
    /// channel pointers). Throws ``GitError/Code/notFound`` when the path is absent and
    /// ``GitError/Code/wrongObjectType`` when it names a directory or submodule.
    public func blob(atPath path: String, inCommit commit: GitOID) throws -> [UInt8] {
        let blob = try GitBlob(blobOID(atPath: path, inCommit: commit), in: self)
        return blob.withContent { Array($0) }
    }

    /// Streams the file at `path` in the commit's tree to `body`, in chunks of at most 1 MiB.
    ///
    /// A loose object is inflated as it streams (`git_odb_open_rstream`, constant memory). libgit2 1.5 cannot
    /// stream packed objects: it inflates them whole into memory (`git_blob_lookup`) and the chunks are
    /// slices of that buffer, so memory use is the blob's size. Data is not re-hashed on the way: verify
    /// content digests on top.
    public func readBlob(
        atPath path: String, inCommit commit: GitOID, into body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        _ = try readBlob(blobOID(atPath: path, inCommit: commit), into: body)
    }

    /// How a blob was read: through a stream or loaded whole (packed objects). Tests check the claim above.
    enum BlobReadMethod { case streamed, loadedWhole }

    func readBlob(_ oid: GitOID, into body: (UnsafeRawBufferPointer) throws -> Void) throws -> BlobReadMethod {
        var odb: OpaquePointer?
        var code = git_repository_odb(&odb, handle)
        guard code == 0, let odb else {
            throw GitError.last(code, operation: "open the object database", repositoryPath: path)
        }
        defer { git_odb_free(odb) }

        var raw = oid.gitOID
        var stream: UnsafeMutablePointer<git_odb_stream>?
        var length = 0
        var type = GIT_OBJECT_ANY
        code = git_odb_open_rstream(&stream, &length, &type, odb, &raw)
        guard code == 0, let stream else {
            // No backend streams this object (packed): load it whole.
            git_error_clear()
            let blob = try GitBlob(oid, in: self)
            try blob.withContent { content in
                var offset = 0
                repeat {
                    let end = min(offset + Self.chunkSize, content.count)
                    if end > offset { try body(UnsafeRawBufferPointer(rebasing: content[offset..<end])) }
                    offset = end
                } while offset < content.count
            }
            return .loadedWhole
        }
        defer { git_odb_stream_free(stream) }
        guard type == GIT_OBJECT_BLOB else {
            throw GitError(code: .wrongObjectType, errorClass: 0, detail: "object \(oid) is not a blob",
                           operation: "read blob \(oid)", repositoryPath: path)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let count = git_odb_stream_read(stream, buffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                                            buffer.count)
            if count < 0 {
                throw GitError.last(count, operation: "read blob \(oid)", repositoryPath: path)
            }
            if count == 0 { break }
            total += Int(count)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)]))
        }
        guard total == length else {
            throw GitError(code: .generic, errorClass: 0,
                           detail: "object \(oid) ended after \(total) of its \(length) bytes",
                           operation: "read blob \(oid)", repositoryPath: path)
        }
        return .streamed
    }

    private func blobOID(atPath path: String, inCommit commit: GitOID) throws -> GitOID {
        guard let entry = try GitCommit(commit, in: self).tree().entry(atPath: path) else {
            throw GitError(code: .notFound, errorClass: 0, detail: "no such path in the commit's tree",
                           operation: "read \(path) in commit \(commit)", repositoryPath: self.path)
        }
        guard entry.isBlob else {
            throw GitError(code: .wrongObjectType, errorClass: 0, detail: "not a file",
                           operation: "read \(path) in commit \(commit)", repositoryPath: self.path)
        }
        return entry.oid
    }

    /// The paths (relative to the worktree, sorted) that differ from HEAD: staged, modified, deleted,
    /// renamed or untracked, ignored files excepted. Empty means the worktree is clean.
    /// Wraps `git_status_list_new`; a bare repository throws ``GitError/Code/bareRepository``.
    public func status() throws -> [String] {
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
        var list: OpaquePointer?
        let code = git_status_list_new(&list, handle, &options)
        guard code == 0, let list else {
            throw GitError.last(code, operation: "status", repositoryPath: path)
        }
        defer { git_status_list_free(list) }

        var paths = Set<String>()
        for index in 0..<git_status_list_entrycount(list) {
            guard let entry = git_status_byindex(list, index)?.pointee else { continue }
            if entry.status == GIT_STATUS_CURRENT || entry.status.rawValue & GIT_STATUS_IGNORED.rawValue != 0 {
                continue
            }
            for delta in [entry.head_to_index, entry.index_to_workdir] {
                guard let delta = delta?.pointee else { continue }
                if let new = delta.new_file.path { paths.insert(String(cString: new)) }
                if let old = delta.old_file.path { paths.insert(String(cString: old)) }
            }
        }
        return paths.sorted()
    }
}

/// The `git_repository*` is confined to one task: libgit2 allows one repository handle per thread at a time.
@available(*, unavailable)
extension Repository: Sendable {}
