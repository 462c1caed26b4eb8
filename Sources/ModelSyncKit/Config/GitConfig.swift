/// `model_sync.git`: credentials and identity for the git registry.
public struct GitConfig: Sendable, Hashable {
    /// `token_env`: the environment variable holding an HTTPS token for the remote.
    public var tokenEnv: String?
    /// `ssh_key`: the private key file for an SSH remote.
    public var sshKey: String?
    /// `author_name`: the publish commits' author name.
    public var authorName: String?
    /// `author_email`: the publish commits' author email.
    public var authorEmail: String?
    /// `allow_insecure_http` [false]: use a plain `http://` remote on another machine; without it only
    /// `https://`, `http://` to this machine, SSH and local paths are used.
    public var allowInsecureHTTP: Bool = false

    /// `lfs` [auto]: move model blobs through the remote's Git LFS API (``LFSMode``).
    public var lfs: LFSMode = .auto
    /// `lfs_url`: the LFS API root (`https://host/org/repo.git/info/lfs`), instead of the one derived from the
    /// remote as git-lfs derives it.
    public var lfsURL: String?
    /// `lfs_concurrency` [8]: LFS transfers run at once.
    public var lfsConcurrency: Int = 8
    /// `username`: the HTTPS Basic user sent with the token (`token_env`) to the git remote and the LFS
    /// endpoint; nil means `x-access-token`, which GitHub, GitLab and Gitea accept.
    public var username: String?

    /// The defaults.
    public init() {}

    /// When the registry's blobs go through Git LFS.
    public enum LFSMode: String, Sendable, Hashable {
        /// On when the remote is HTTP(S) or SSH and its LFS endpoint answers the batch API; off for local
        /// paths, `file://` and `git://`.
        case auto
        /// Always (publishing fails when the endpoint does not answer).
        case on = "true"
        /// Never: blobs are committed into the git repository.
        case off = "false"
    }
}
