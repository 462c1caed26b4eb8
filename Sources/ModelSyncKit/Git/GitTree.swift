internal import CModelSyncGit2

/// A tree (`git_tree*`), freed in deinit; keeps its repository alive.
final class GitTree {
    let repository: Repository
    let handle: OpaquePointer

    /// Takes ownership of a tree returned by libgit2.
    init(owning handle: OpaquePointer, in repository: Repository) {
        self.repository = repository
        self.handle = handle
    }

    /// Wraps `git_tree_lookup`.
    convenience init(_ oid: GitOID, in repository: Repository) throws {
        var raw = oid.gitOID
        var handle: OpaquePointer?
        let code = git_tree_lookup(&handle, repository.handle, &raw)
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "look up tree \(oid)", repositoryPath: repository.path)
        }
        self.init(owning: handle, in: repository)
    }

    deinit {
        git_tree_free(handle)
    }

    /// The entry at a slash-separated path below this tree (`git_tree_entry_bypath`), nil when absent.
    func entry(atPath path: String) throws -> GitTreeEntry? {
        var entry: OpaquePointer?
        let code = git_tree_entry_bypath(&entry, handle, path)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        guard code == 0, let entry else {
            throw GitError.last(code, operation: "find \(path)", repositoryPath: repository.path)
        }
        // git_tree_entry_bypath returns an entry the caller owns.
        defer { git_tree_entry_free(entry) }
        return GitTreeEntry(
            oid: GitOID(git_tree_entry_id(entry).pointee),
            isBlob: git_tree_entry_type(entry) == GIT_OBJECT_BLOB,
            fileMode: git_tree_entry_filemode(entry).rawValue
        )
    }
}

@available(*, unavailable)
extension GitTree: Sendable {}

/// What a path names in a commit's tree: the object's id, whether it is a file, and its git file mode.
public struct GitTreeEntry: Hashable, Sendable {
    /// The object's id.
    public let oid: GitOID
    /// True for a blob (a file or a symbolic link), false for a tree or a submodule commit.
    public let isBlob: Bool
    /// The git file mode: 0o100644, 0o100755, 0o120000 (symbolic link), 0o040000 (tree), 0o160000 (submodule).
    public let fileMode: UInt32
}
