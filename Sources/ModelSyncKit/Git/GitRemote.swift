#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncGit2

/// A remote of a repository (`git_remote*`), looked up by name, freed in deinit.
///
/// Fetch and push go through libgit2's transports (local paths, `file://`, `git://`, SSH, HTTPS); failures are
/// ``GitError``s of category `.remote` carrying the remote's own message, with any token scrubbed.
final class GitRemote {
    let repository: Repository
    let handle: OpaquePointer
    let name: String

    /// Wraps `git_remote_lookup`. An unknown remote is a usage error (the configuration names it).
    init(named name: String, in repository: Repository) throws {
        var handle: OpaquePointer?
        let code = git_remote_lookup(&handle, repository.handle, name)
        guard code == 0, let handle else {
            throw GitError.last(code, operation: "find remote \"\(name)\"", repositoryPath: repository.path,
                                category: code == GIT_ENOTFOUND.rawValue ? .usage : nil)
        }
        self.repository = repository
        self.handle = handle
        self.name = name
    }

    deinit {
        git_remote_free(handle)
    }

    /// libgit2 refuses a redirect to another host with this (`GIT_REMOTE_REDIRECT_NONE`; its default,
    /// `http.followRedirects`, follows the first request's redirect anywhere). It still follows a redirect to
    /// another port or scheme of the same host: ``GitCredentials`` hands the token out once per operation, and
    /// the registry probes the remote's redirects itself before any operation that carries a token.
    static let redirectPolicy = GIT_REMOTE_REDIRECT_NONE

    /// The remote's URL as configured.
    var url: String { git_remote_url(handle).map { String(cString: $0) } ?? "" }

    /// Fetches `refspec` (`git_remote_fetch`).
    func fetch(refspec: String, credentials: GitCredentials) throws {
        let state = GitRemoteCallbackState(credentials: credentials)
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        state.install(in: &options.callbacks)
        options.follow_redirects = GitRemote.redirectPolicy
        let code = withExtendedLifetime(state) {
            withStrArray([refspec]) { specs in git_remote_fetch(handle, specs, &options, "model-sync: fetch") }
        }
        guard code == 0 else { throw remoteError(code, "fetch from \(name)", credentials) }
    }

    /// Pushes `refspec` (`git_remote_push`). A push the remote (or libgit2, comparing with the remote's
    /// advertised tip) refuses as not a fast-forward throws ``GitError/Code/nonFastForward``.
    func push(refspec: String, credentials: GitCredentials) throws {
        let state = GitRemoteCallbackState(credentials: credentials)
        var options = git_push_options()
        git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION))
        state.install(in: &options.callbacks)
        options.follow_redirects = GitRemote.redirectPolicy
        // One thread for the pack: model blobs never delta well, and threads would hold more of them in memory.
        options.pb_parallelism = 1
        let code = withExtendedLifetime(state) {
            withStrArray([refspec]) { specs in git_remote_push(handle, specs, &options) }
        }
        // The remote's own words (a pre-receive hook, a host's size rule) go with any failure: libgit2 keeps
        // only "pre-receive hook declined" or an HTTP status, which do not say why.
        let said = state.sideband.quoted.map { "\n" + credentials.scrub($0) } ?? ""
        guard code == 0 else {
            let error = remoteError(code, "push to \(name)", credentials)
            // 413: the host (or its proxy) refused the push's size; libgit2 keeps only the status, not its body.
            let tooLarge = error.detail.contains("status code: 413")
            guard !said.isEmpty || tooLarge else { throw error }
            let detail = error.detail + (tooLarge ? " (the host refused the push as too large)" : "") + said
            throw GitError(code: error.code, errorClass: error.errorClass, detail: detail, operation: error.operation,
                           repositoryPath: error.repositoryPath, category: .remote, refusedByHost: true)
        }
        if let refusal = state.rejected.first {
            let message = credentials.scrub(refusal.message)
            let nonFastForward = ["non-fast-forward", "fetch first", "stale info"].contains { message.contains($0) }
            throw GitError(code: nonFastForward ? .nonFastForward : .generic, errorClass: Int32(GIT_ERROR_NET.rawValue),
                           detail: "the remote refused \(refusal.reference): \(message)" + said,
                           operation: "push to \(name)", repositoryPath: repository.path, category: .remote,
                           refusedByHost: !nonFastForward)
        }
    }

    private func remoteError(_ code: Int32, _ operation: String, _ credentials: GitCredentials) -> GitError {
        let error = GitError.last(code, operation: operation, repositoryPath: repository.path, category: .remote)
        return GitError(code: error.code, errorClass: error.errorClass, detail: credentials.scrub(error.detail),
                        operation: operation + " (\(credentials.scrub(url)))", repositoryPath: repository.path,
                        category: .remote)
    }
}

@available(*, unavailable)
extension GitRemote: Sendable {}

/// Calls `body` with a `git_strarray` of `strings`, valid only during the call.
func withStrArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<git_strarray>) throws -> R) rethrows -> R {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    var array = pointers
    return try array.withUnsafeMutableBufferPointer { buffer in
        var strarray = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&strarray)
    }
}
