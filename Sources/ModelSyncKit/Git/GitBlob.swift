internal import CModelSyncGit2

/// A blob loaded whole into memory (`git_blob*`), freed in deinit; keeps its repository alive.
final class GitBlob {
    let repository: Repository
    let handle: OpaquePointer

    /// Wraps `git_blob_lookup`: libgit2 inflates the whole object (loose or packed) into memory.
    init(_ oid: GitOID, in repository: Repository) throws {
        var raw = oid.gitOID
        var handle: OpaquePointer?
        let code = git_blob_lookup(&handle, repository.handle, &raw)
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "look up blob \(oid)", repositoryPath: repository.path)
        }
        self.repository = repository
        self.handle = handle
    }

    deinit {
        git_blob_free(handle)
    }

    /// The content; valid only while this blob is alive (`git_blob_rawcontent`, `git_blob_rawsize`).
    func withContent<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let size = Int(git_blob_rawsize(handle))
        return try body(UnsafeRawBufferPointer(start: git_blob_rawcontent(handle), count: size))
    }
}

@available(*, unavailable)
extension GitBlob: Sendable {}
