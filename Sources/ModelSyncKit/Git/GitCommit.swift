internal import CModelSyncGit2
import Foundation

/// A looked-up commit (`git_commit*`), freed in deinit. Keeps its repository alive: libgit2 objects must
/// not outlive the `git_repository` they come from.
final class GitCommit {
    let repository: Repository
    let handle: OpaquePointer
    let oid: GitOID

    /// Wraps `git_commit_lookup`.
    init(_ oid: GitOID, in repository: Repository) throws {
        var raw = oid.gitOID
        var handle: OpaquePointer?
        let code = git_commit_lookup(&handle, repository.handle, &raw)
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "look up commit \(oid)", repositoryPath: repository.path)
        }
        self.repository = repository
        self.handle = handle
        self.oid = oid
    }

    deinit {
        git_commit_free(handle)
    }

    /// The commit's root tree (`git_commit_tree`).
    func tree() throws -> GitTree {
        var tree: OpaquePointer?
        let code = git_commit_tree(&tree, handle)
        guard code == 0, let tree else {
            throw GitError.last(code, operation: "read the tree of commit \(oid)", repositoryPath: repository.path)
        }
        return GitTree(owning: tree, in: repository)
    }

    /// The root tree's id (`git_commit_tree_id`).
    var treeOID: GitOID { GitOID(git_commit_tree_id(handle).pointee) }

    /// The parents' ids, in order.
    var parentOIDs: [GitOID] {
        (0..<git_commit_parentcount(handle)).map { GitOID(git_commit_parent_id(handle, $0).pointee) }
    }

    /// The full commit message.
    var message: String { String(cString: git_commit_message(handle)) }

    /// The committer's time (`git_commit_time`).
    var time: Date { Date(timeIntervalSince1970: TimeInterval(git_commit_time(handle))) }
}

@available(*, unavailable)
extension GitCommit: Sendable {}
