internal import CModelSyncGit2

/// A failed libgit2 call: its return code, libgit2's error class and message, the operation and the repository.
public struct GitError: ModelSyncError {
    /// libgit2's return code (`git_error_code`): negative, `GIT_ERROR` (-1) when nothing more specific applies.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The `git_error_code` value.
        public let rawValue: Int32
        /// Wraps a return code.
        public init(_ rawValue: Int32) { self.rawValue = rawValue }

        /// `GIT_ERROR`: a generic failure.
        public static let generic = Code(GIT_ERROR.rawValue)
        /// `GIT_ENOTFOUND`: no such repository, object, reference or path.
        public static let notFound = Code(GIT_ENOTFOUND.rawValue)
        /// `GIT_EEXISTS`: the object or reference already exists.
        public static let exists = Code(GIT_EEXISTS.rawValue)
        /// `GIT_EBAREREPO`: the operation needs a working directory.
        public static let bareRepository = Code(GIT_EBAREREPO.rawValue)
        /// `GIT_EUNBORNBRANCH`: HEAD points to a branch without commits.
        public static let unbornBranch = Code(GIT_EUNBORNBRANCH.rawValue)
        /// `GIT_ENONFASTFORWARD`: a reference update is not a fast-forward.
        public static let nonFastForward = Code(GIT_ENONFASTFORWARD.rawValue)
        /// `GIT_ELOCKED`: a lock file is held.
        public static let locked = Code(GIT_ELOCKED.rawValue)
        /// `GIT_EAUTH`: authentication with the remote failed.
        public static let authentication = Code(GIT_EAUTH.rawValue)
        /// `GIT_ECERTIFICATE`: the remote's certificate is invalid.
        public static let certificate = Code(GIT_ECERTIFICATE.rawValue)
        /// `GIT_EINVALIDSPEC`: an invalid reference name or spec.
        public static let invalidSpec = Code(GIT_EINVALIDSPEC.rawValue)
        /// Not a libgit2 code: the object found is not of the kind asked for (a tree where a blob is expected).
        public static let wrongObjectType = Code(-1000)

        public var description: String { "\(rawValue)" }
    }

    /// libgit2's return code.
    public let code: Code
    /// libgit2's error class (`git_error_t`: 2 OS, 3 invalid, 6 repository, 12 net, 34 HTTP...), 0 when none.
    public let errorClass: Int32
    /// libgit2's message (`git_error_last()->message`), captured right after the failing call.
    public let detail: String
    /// What was being done ("open", "look up commit 1a2b…").
    public let operation: String
    /// The repository's path.
    public let repositoryPath: String
    /// `.remote` for network, TLS, SSH and HTTP failures, `.usage` for a missing repository, else `.unexpected`.
    public let category: ErrorCategory

    /// True when the remote host refused a push with a message of its own (a hook, a size rule): the
    /// message then carries the remote's `remote: …` lines, and the hint says what usually fixes it.
    public let refusedByHost: Bool
    /// The hint a caller that knows more chooses instead of the generic one (the registry: "set git.lfs").
    public var hostRefusalHint: String?

    /// Builds an error from its parts; the wrapper builds these right after a failing libgit2 call.
    public init(
        code: Code, errorClass: Int32, detail: String, operation: String, repositoryPath: String,
        category: ErrorCategory? = nil, refusedByHost: Bool = false
    ) {
        self.refusedByHost = refusedByHost
        self.code = code
        self.errorClass = errorClass
        self.detail = detail
        self.operation = operation
        self.repositoryPath = repositoryPath
        // libgit2 reports a failed write's errno only in its message ("...: No space left on device").
        self.category = category
            ?? (ErrorCategory.mentionsOutOfSpace(detail) ? .outOfSpace : Self.category(code: code, errorClass: errorClass))
    }

    /// Network, TLS, SSH and HTTP failures are remote errors; everything else unexpected unless the caller
    /// knows better (a missing repository is a usage error).
    static func category(code: Code, errorClass: Int32) -> ErrorCategory {
        let remoteClasses: Set<UInt32> = [
            GIT_ERROR_NET.rawValue, GIT_ERROR_SSL.rawValue, GIT_ERROR_SSH.rawValue, GIT_ERROR_HTTP.rawValue,
        ]
        if code == .authentication || code == .certificate || remoteClasses.contains(UInt32(bitPattern: errorClass)) {
            return .remote
        }
        return .unexpected
    }

    /// `git repository <path>: <operation>: <libgit2's message>`.
    public var message: String {
        (category == .outOfSpace ? "no space left on \(repositoryPath): " : "")
            + "git repository \(repositoryPath): \(operation): \(detail)"
    }

    public var hint: String? {
        if category == .outOfSpace {
            return "free some space on the filesystem holding \(repositoryPath), then run the command again"
        }
        if refusedByHost {
            return hostRefusalHint ?? "the host refused the push: its own message (the remote: lines) says why"
        }
        if category == .usage { return "check the repository path, or clone or initialize the repository there" }
        if category == .remote { return "check the remote URL, the network and the credentials" }
        return nil
    }
}

extension GitError {
    /// Reads libgit2's per-thread last error for the failing call that returned `code`. Call it at once:
    /// any later libgit2 call may replace or clear the message. `git_error_last()` may return NULL.
    static func last(
        _ code: Int32, operation: String, repositoryPath: String, category: ErrorCategory? = nil
    ) -> GitError {
        let last = git_error_last()
        let detail = last.map { String(cString: $0.pointee.message) } ?? "libgit2 returned \(code) without a message"
        return GitError(
            code: Code(code), errorClass: last?.pointee.klass ?? 0, detail: detail,
            operation: operation, repositoryPath: repositoryPath, category: category
        )
    }
}
