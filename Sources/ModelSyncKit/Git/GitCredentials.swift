internal import CModelSyncGit2
import Foundation

/// What a remote may be given to authenticate: an HTTPS token, an SSH key file, or the ssh-agent.
///
/// The token travels only through libgit2's credentials callback (as the password of the user
/// `x-access-token`, which GitHub, GitLab and Gitea accept): it is never written into a URL, the
/// repository's configuration or a message.
public struct GitCredentials: Sendable {
    /// The HTTPS token (from `git.token_env`).
    public var token: String?
    /// A private key file for SSH remotes (`git.ssh_key`); nil means the ssh-agent.
    public var sshKey: String?
    /// The user name sent with the token unless `git.username` names another.
    public static let tokenUser = "x-access-token"
    /// `git.username`: the HTTPS Basic user sent with the token, for servers that want the account name.
    public var username: String?
    /// The user sent with the token: `git.username`, else ``tokenUser``.
    public var basicUser: String { username ?? Self.tokenUser }

    /// No credentials: local paths, `file://`, anonymous remotes and the ssh-agent.
    public init(token: String? = nil, sshKey: String? = nil, username: String? = nil) {
        self.token = token
        self.sshKey = sshKey
        self.username = username
    }

    /// Replaces the token wherever it occurs in `text` (a remote's message may echo a URL).
    func scrub(_ text: String) -> String {
        guard let token, token.count >= 4 else { return text }
        return text.replacingOccurrences(of: token, with: "***")
    }

    /// What the callback answers for a request; separated from the C plumbing so tests can check it.
    enum Answer: Equatable {
        case token(user: String)
        case sshKey(user: String, path: String)
        case sshAgent(user: String)
        case username(String)
        /// Nothing more to offer: libgit2 reports the authentication failure.
        case giveUp
    }

    /// The kinds of credential a remote accepts (libgit2's `git_credential_t` bits).
    struct AllowedTypes: OptionSet {
        let rawValue: UInt32
        static let userPassword = AllowedTypes(rawValue: GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue)
        static let sshKey = AllowedTypes(rawValue: GIT_CREDENTIAL_SSH_KEY.rawValue)
        static let username = AllowedTypes(rawValue: GIT_CREDENTIAL_USERNAME.rawValue)
    }

    /// Chooses a credential for `allowedTypes`. `attempt` counts calls within one
    /// operation: libgit2 calls again when the remote refuses what it got, so after two tries we give up
    /// instead of looping. The token is handed out on the first call only: a second call means the remote
    /// refused it (sending it again cannot help) or a redirect led to another port or scheme of the host,
    /// which libgit2 asks about with the original URL — so the token would go where it was not configured.
    func answer(allowedTypes: AllowedTypes, usernameFromURL: String?, attempt: Int) -> Answer {
        guard attempt <= 2 else { return .giveUp }
        let sshUser = usernameFromURL ?? "git"
        if allowedTypes.contains(.sshKey) {
            if let sshKey { return .sshKey(user: sshUser, path: sshKey) }
            return attempt == 1 ? .sshAgent(user: sshUser) : .giveUp
        }
        if allowedTypes.contains(.userPassword), token != nil {
            return attempt == 1 ? .token(user: basicUser) : .giveUp
        }
        if allowedTypes.contains(.username) { return .username(sshUser) }
        return .giveUp
    }
}

/// The state one remote operation shares with the credentials and push callbacks.
///
/// Passed to libgit2 as the callbacks' payload through `Unmanaged`; the caller keeps it alive for the whole
/// operation (libgit2 may call the credentials callback several times, so nothing is released in it).
final class GitRemoteCallbackState {
    let credentials: GitCredentials
    var attempts = 0
    /// Reference updates the remote refused, with its own message (`push_update_reference`).
    var rejected: [(reference: String, message: String)] = []
    /// What the remote printed on its sideband (`remote: …` lines: hooks, host rules), capped in size.
    var sideband = RemoteMessages()

    init(credentials: GitCredentials) {
        self.credentials = credentials
    }

    /// Fills `callbacks` with the credentials and push-status callbacks, this object as their payload.
    func install(in callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, _, usernameFromURL, allowedTypes, payload in
            guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
            let state = Unmanaged<GitRemoteCallbackState>.fromOpaque(payload).takeUnretainedValue()
            state.attempts += 1
            let user = usernameFromURL.map { String(cString: $0) }
            switch state.credentials.answer(allowedTypes: GitCredentials.AllowedTypes(rawValue: allowedTypes), usernameFromURL: user, attempt: state.attempts) {
            case .token(let user):
                return git_credential_userpass_plaintext_new(out, user, state.credentials.token ?? "")
            case .sshKey(let user, let path):
                return git_credential_ssh_key_new(out, user, nil, path, nil)
            case .sshAgent(let user):
                return git_credential_ssh_key_from_agent(out, user)
            case .username(let user):
                return git_credential_username_new(out, user)
            case .giveUp:
                git_error_set_str(Int32(GIT_ERROR_NET.rawValue),
                                  state.attempts > 1 ? "the remote refused the credentials"
                                                     : "the remote asks for credentials and none are configured")
                return GIT_EAUTH.rawValue
            }
        }
        callbacks.sideband_progress = { text, length, payload in
            guard let payload, let text, length > 0 else { return 0 }
            let state = Unmanaged<GitRemoteCallbackState>.fromOpaque(payload).takeUnretainedValue()
            text.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { bytes in
                state.sideband.append(UnsafeBufferPointer(start: bytes, count: Int(length)))
            }
            return 0
        }
        callbacks.push_update_reference = { reference, status, payload in
            guard let payload, let status else { return 0 }
            let state = Unmanaged<GitRemoteCallbackState>.fromOpaque(payload).takeUnretainedValue()
            state.rejected.append((reference.map { String(cString: $0) } ?? "?", String(cString: status)))
            return 0
        }
    }
}

@available(*, unavailable)
extension GitRemoteCallbackState: Sendable {}
