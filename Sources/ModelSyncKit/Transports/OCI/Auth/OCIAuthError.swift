/// A registry login that failed: a token endpoint that refused the credentials or answered nonsense, a
/// password variable that is not set, a Docker config file or credential helper that cannot be used.
///
/// Messages name the registry, the token endpoint (without its query) and the user, never a password or a
/// token: every text that came from a server is scrubbed of the password before it is kept.
public struct OCIAuthError: ModelSyncError {
    /// What failed. A struct with static members so codes can be added.
    public struct Code: Hashable, Sendable {
        /// The code's stable name.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The token endpoint answered 401 or 403: the credentials are wrong or lack the access asked for.
        public static let refused = Code("refused")
        /// The token endpoint could not be reached, or answered another error status.
        public static let tokenEndpoint = Code("token-endpoint")
        /// The token endpoint's answer holds no token.
        public static let invalidTokenResponse = Code("invalid-token-response")
        /// The challenge names a token endpoint model-sync does not send credentials to (plain http://
        /// to another machine, another scheme).
        public static let refusedRealm = Code("refused-realm")
        /// The variable `oci.password_env` names is not set.
        public static let missingPassword = Code("missing-password")
        /// The Docker config file cannot be read or parsed.
        public static let dockerConfig = Code("docker-config")
        /// The credential helper the Docker config names cannot be run or failed.
        public static let credentialHelper = Code("credential-helper")
    }

    /// What failed.
    public let code: Code
    /// What went wrong, naming the registry, the endpoint or the file.
    public let message: String
    /// What to do about it.
    public let hint: String?

    init(_ code: Code, _ message: String, hint: String?) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    /// A refused or failing token endpoint is the remote's answer (exit 4); a missing variable, a realm refused
    /// by policy, an unusable Docker config or helper are the user's to fix (exit 2).
    public var category: ErrorCategory {
        switch code {
        case .refused, .tokenEndpoint, .invalidTokenResponse: return .remote
        default: return .usage
        }
    }

    /// The hint for credentials a registry refused: which ones were used decides what to fix.
    static func loginHint(registry: String, credentials: OCICredentials?) -> String {
        switch credentials?.origin {
        case .environment(let variable)?:
            return "check the password or token in \(variable) (oci.password_env) and oci.username, "
                + "and that they may access this repository"
        case .dockerConfig(let file)?:
            return "run `docker login \(registry)` again (the credentials come from \(file)), "
                + "or set oci.username and oci.password_env"
        case .credentialHelper(let helper)?:
            return "run `docker login \(registry)` again (the credentials come from docker-credential-\(helper)), "
                + "or set oci.username and oci.password_env"
        case nil:
            return "the registry wants credentials: run `docker login \(registry)`, "
                + "or set oci.username and oci.password_env"
        }
    }
}
