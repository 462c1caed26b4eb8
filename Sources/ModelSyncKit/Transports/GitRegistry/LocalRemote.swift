import Foundation

/// A registry remote on this machine (a `file://` URL or a path), reached without a transport.
///
/// libgit2's local transport builds a pack on one side and indexes it on the other, deflating every model blob
/// again. For such a remote the registry instead reads the remote's repository directly: fetching makes its
/// objects visible through `objects/info/alternates` and copies its branch tip into the tracking reference;
/// pushing hard-links the loose objects the remote lacks into its object directory and moves its branch by
/// compare-and-swap. Network remotes (`git://`, `ssh://`, `https://`, scp-like `host:path`) keep libgit2's
/// transports.
struct LocalRemote {
    /// The remote's repository, opened with libgit2.
    let repository: Repository

    /// The directory a remote URL names when it is local: `file://` URLs (percent-decoded) and paths of
    /// existing directories, as libgit2 decides; nil for anything else.
    static func path(of url: String) -> String? {
        if url.hasPrefix("file://") {
            guard let parsed = URL(string: url), parsed.host == nil || parsed.host == "" || parsed.host == "localhost" else {
                return nil
            }
            return parsed.path.isEmpty ? nil : parsed.path
        }
        guard !url.contains("://") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return url
    }

    /// Opens the repository `url` names when it is local; nil for a network remote or a local path that
    /// libgit2 cannot open as a repository (the transport then reports the problem).
    static func open(url: String) -> LocalRemote? {
        guard let path = path(of: url), let repository = try? Repository(openingAt: path) else { return nil }
        return LocalRemote(repository: repository)
    }

    /// True when a push may write into the remote directly: it is bare (a direct write into a repository with
    /// a worktree would leave the worktree behind its branch). Receive hooks are not a reason to go through
    /// libgit2: its local transport pushes in-process and runs none either.
    var acceptsDirectPush: Bool { repository.isBare }
}

@available(*, unavailable)
extension LocalRemote: Sendable {}
