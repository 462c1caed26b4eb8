/// What a registry request may do to a repository, as the distribution token protocol names it:
/// `repository:<name>:<actions>` (`pull`, `push`, `delete`), with the scopes on other repositories the same
/// token must carry (a cross-repository mount needs `pull` on its source as well as `pull,push` here).
public struct OCIScope: Sendable, Hashable, CustomStringConvertible {
    /// The repository, without the registry host (`team/models`).
    public let repository: String
    /// The actions, in the order given (`["pull", "push"]`).
    public let actions: [String]
    /// Scopes on other repositories one token must grant too (`repository:team/base:pull` for a mount).
    public let also: [OCIScope]

    /// A scope on `repository` for `actions`, and the scopes of other repositories in `also`.
    public init(repository: String, actions: [String], also: [OCIScope] = []) {
        self.repository = repository
        self.actions = actions
        self.also = also
    }

    /// `repository:team/models:pull,push`, one `scope` parameter of a token request.
    var single: String { "repository:\(repository):\(actions.joined(separator: ","))" }

    /// The `scope` parameters of a token request, this repository's first: one each, as the token protocol
    /// asks for several resources (`scope=repository:a:pull,push&scope=repository:b:pull`).
    public var parameters: [String] { [single] + also.map(\.single) }

    /// The parameters joined by spaces, as a challenge's `scope` and an OAuth2 `scope` field list them
    /// (`repository:team/models:pull,push repository:team/base:pull`); tokens are kept under it.
    public var description: String { parameters.joined(separator: " ") }
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
