/// A Git LFS server refused a request or answered something the client cannot use (exit 4).
///
/// The message names the object or the endpoint and quotes the server's own explanation, scrubbed of
/// secrets; header values never appear in it.
public struct LFSError: ModelSyncError {
    /// What kind of failure it was.
    public struct Code: Hashable, Sendable {
        /// The code's name.
        public let rawValue: String
        /// A code named `rawValue`.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The server refused the credentials (401, 403).
        public static let authentication = Code("authentication")
        /// The batch request failed with an HTTP status (413, 422, 5xx after retries...).
        public static let status = Code("status")
        /// The server reported an error for one object.
        public static let objectError = Code("object-error")
        /// The answer breaks the protocol (not JSON, a size other than asked, an object missing, no action).
        public static let invalidAnswer = Code("invalid-answer")
        /// An action's href is not one the client may follow (plain http:// to another machine).
        public static let refusedHref = Code("refused-href")
        /// A transfer of an object's bytes failed.
        public static let transfer = Code("transfer")
    }

    /// What kind of failure it was.
    public let code: Code
    public let message: String
    public let hint: String?
    public var category: ErrorCategory { .remote }

    /// An error whose message is scrubbed of every registered secret here, whoever builds it.
    init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = SecretScrubber.shared.scrub(message)
        self.hint = hint
    }

    /// The hint for a refused credential.
    static let credentialsHint = "check the token in the variable git.token_env names (and git.username where the "
        + "host needs one): it must be allowed to read and write Git LFS objects of this repository"
}
