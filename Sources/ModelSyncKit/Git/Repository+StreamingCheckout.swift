#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncGit2
import Foundation

extension Repository {
    /// Blobs at least this large that a checkout adds are written by ``checkout(_:baseline:force:streamingAdditions:)``
    /// itself; smaller ones are left to libgit2.
    static let streamedCheckoutThreshold: UInt64 = 1 << 20

    /// Makes the index and worktree match `commit` like ``checkout(_:baseline:force:)``, but writes the large
    /// files the commit *adds* (paths absent from `baseline` and from the worktree) itself, streaming each blob
    /// in 1 MiB pieces and recording it in the index with its stat data. libgit2's checkout loads a blob whole
    /// and, for a loose object, also reads the whole object file first: twice the blob's size in memory. The
    /// remaining changes (small files, removals) go through `git_checkout_tree` with a baseline that already
    /// holds the written files, so it sees them as unchanged. Returns how many files were streamed.
    @discardableResult
    public func checkout(_ commit: GitOID, baseline: GitOID?, force: Bool, streamingAdditions: Bool) throws -> Int {
        guard !isBare, streamingAdditions, let workdir = workingDirectory else {
            try checkout(commit, baseline: baseline, force: force)
            return 0
        }
        let before = try baseline.map { try allBlobs(inCommit: $0) } ?? [:]
        var additions: [(path: String, oid: GitOID)] = []
        for (path, oid) in try allBlobs(inCommit: commit).sorted(by: { $0.key < $1.key })
        where before[path] == nil && access(workdir + path, F_OK) != 0 && errno == ENOENT {
            guard let entry = try entry(atPath: path, inCommit: commit), entry.fileMode == 0o100644,
                  try blobSize(oid) >= Self.streamedCheckoutThreshold else { continue }
            additions.append((path, oid))
        }
        guard !additions.isEmpty else {
            try checkout(commit, baseline: baseline, force: force)
            return 0
        }

        var index: OpaquePointer?
        var code = git_repository_index(&index, handle)
        guard code == 0, let index else { throw GitError.last(code, operation: "read the index", repositoryPath: path) }
        defer { git_index_free(index) }
        for addition in additions {
            let file = workdir + addition.path
            try writeWorktreeFile(file, from: addition.oid)
            var info = stat()
            guard lstat(file, &info) == 0 else { throw IOError.current("stat", file) }
            var entry = git_index_entry()
            entry.ctime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_ctim.tv_sec),
                                         nanoseconds: UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec))
            entry.mtime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_mtim.tv_sec),
                                         nanoseconds: UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec))
            entry.dev = UInt32(truncatingIfNeeded: info.st_dev)
            entry.ino = UInt32(truncatingIfNeeded: info.st_ino)
            entry.mode = GIT_FILEMODE_BLOB.rawValue
            entry.uid = info.st_uid
            entry.gid = info.st_gid
            entry.file_size = UInt32(truncatingIfNeeded: info.st_size)
            entry.id = addition.oid.gitOID
            code = addition.path.withCString { path in
                entry.path = path
                return git_index_add(index, &entry)
            }
            guard code == 0 else { throw GitError.last(code, operation: "add \(addition.path) to the index", repositoryPath: path) }
        }
        code = git_index_write(index)
        guard code == 0 else { throw GitError.last(code, operation: "write the index", repositoryPath: path) }

        // The baseline as the worktree now is: the old tree plus the files just written.
        let written = try tree(applying: additions.map { .upsert(path: $0.path, blob: $0.oid) }, toCommit: baseline)
        try checkout(commit, baselineTree: written, force: force)
        return additions.count
    }

    /// Gives `file` (parents created) the bytes of blob `oid`: from the file the blob was written from when
    /// this handle remembers one (``BlobSources``), else streamed out of the object, through a durable temp
    /// file renamed into place (``DurableFile``): a crash never leaves a half-written model file under its
    /// real name.
    private func writeWorktreeFile(_ file: String, from oid: GitOID) throws {
        let directory = (file as NSString).deletingLastPathComponent
        try FileSystem.makeDirectories(directory)
        if let source = blobSources.source(of: oid), try place(source, at: file, in: directory) { return }
        let output = try DurableFile(in: directory, prefix: "." + (file as NSString).lastPathComponent + ".model-sync-checkout-")
        _ = try readBlob(oid) { chunk in try output.write(chunk) }
        try output.commit(to: file, mode: 0o644, placement: .replace)
    }

    /// Puts the read-only `source` at `file` without reading the blob: a hard link (no byte written: the
    /// worktree file shares the store object's read-only inode, as a generation activated with links does),
    /// or where the link is refused (another filesystem, a link limit) a kernel copy (`copy_file_range`).
    /// False, nothing placed, when the source changed since the blob was written from it.
    private func place(_ source: BlobSource, at file: String, in directory: String) throws -> Bool {
        let name = (file as NSString).lastPathComponent
        var temporary = ""
        var linked = false
        for _ in 0..<8 {
            temporary = directory + "/." + name + ".model-sync-link-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            if link(source.path, temporary) == 0 { linked = true; break }
            if errno == EEXIST { continue }
            guard [EXDEV, EMLINK, EPERM, EOPNOTSUPP, ENOSYS].contains(errno) else {
                throw IOError.current("link", temporary)
            }
            return try copy(source, to: file, in: directory)
        }
        guard linked else { throw IOError(errno: EEXIST, operation: "link", path: temporary) }
        var info = stat()
        // The link changed the inode's ctime, not its bytes: the rest of its identity must hold.
        guard lstat(temporary, &info) == 0, FileIdentity(info).sameContent(as: source.identity) else {
            unlink(temporary)
            return false
        }
        if rename(temporary, file) != 0 {
            let failure = IOError.current("rename", file)
            unlink(temporary)
            throw failure
        }
        try DurableFile.syncParents(of: file, createdParent: false)
        return true
    }

    /// Copies `source` into a durable new file at `file` in the kernel; false when it is not the file read.
    private func copy(_ source: BlobSource, to file: String, in directory: String) throws -> Bool {
        let input = try FileSystem.open(source.path, O_RDONLY)
        defer { close(input) }
        var before = stat()
        guard fstat(input, &before) == 0, FileIdentity(before) == source.identity else { return false }
        let output = try DurableFile(in: directory, prefix: "." + (file as NSString).lastPathComponent + ".model-sync-checkout-")
        try output.copyContents(from: input)
        var after = stat()
        guard fstat(input, &after) == 0, FileIdentity(after) == source.identity else { return false }
        try output.commit(to: file, mode: 0o644, placement: .replace)
        return true
    }

    /// `git_checkout_tree` of `commit` from the baseline tree `baselineTree`.
    func checkout(_ commit: GitOID, baselineTree: GitOID, force: Bool) throws {
        let target = try GitCommit(commit, in: self)
        let base = try GitTree(baselineTree, in: self)
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = force ? GIT_CHECKOUT_FORCE.rawValue : GIT_CHECKOUT_SAFE.rawValue
        options.baseline = base.handle
        let code = git_checkout_tree(self.handle, target.handle, &options)
        guard code == 0 else { throw GitError.last(code, operation: "check out \(commit)", repositoryPath: path) }
    }
}
