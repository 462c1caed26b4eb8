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

    /// The defaults.
    public init() {}
}
