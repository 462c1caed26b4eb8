/// What a registry request may do to a repository, as the distribution token protocol names it:
/// `repository:<name>:<actions>` (`pull`, `push`, `delete`).
public struct OCIScope: Sendable, Hashable, CustomStringConvertible {
    /// The repository, without the registry host (`team/models`).
    public let repository: String
    /// The actions, in the order given (`["pull", "push"]`).
    public let actions: [String]

    /// A scope on `repository` for `actions`.
    public init(repository: String, actions: [String]) {
        self.repository = repository
        self.actions = actions
    }

    /// `repository:team/models:pull,push`, the `scope` parameter of a token request.
    public var description: String { "repository:\(repository):\(actions.joined(separator: ","))" }
}

/// Supplies the `Authorization` header of registry requests: a request goes out with
/// ``authorization(for:)`` (nil: anonymous), and a `401` answer's `WWW-Authenticate` value goes to
/// ``answer(challenge:scope:)``, whose header the request is retried with once.
///
/// Implementations keep tokens per scope and never hand a header out for another registry than the one they
/// were made for.
public protocol OCIAuthorizing: AnyObject, Sendable {
    /// The header value to send for `scope` now (`Bearer …` from a cached token, `Basic …`), nil for none.
    func authorization(for scope: OCIScope) -> String?

    /// The header value answering `challenge` (the `WWW-Authenticate` header of a 401) for `scope`, fetched
    /// from the token endpoint the challenge names when it is a Bearer challenge; nil when no credentials can
    /// answer it. Throws when the token endpoint refuses or cannot be reached.
    func answer(challenge: String, scope: OCIScope) throws -> String?
}
