import Foundation

/// Speaks the OCI distribution API to one repository of a registry: blobs (HEAD, cross-repository mount,
/// monolithic and chunked uploads resumed from the registry's offset, streamed downloads resumed with
/// Range), manifests, tags and deletes (https://github.com/opencontainers/distribution-spec/blob/main/spec.md).
///
/// - Every request asks ``OCIAuthorizing/authorization(for:)`` for its scope (`pull` for reads, `pull,push`
///   for writes and `pull` on the source as well for a mount, `delete` for deletes); a 401 with
///   `WWW-Authenticate` is answered through ``OCIAuthorizing/answer(challenge:scope:)`` and the request
///   retried once with that header.
/// - The `Authorization` header goes only to the registry's origin: a redirect to blob storage (an S3-style
///   presigned URL) or an upload URL on another host gets none (``HTTPClient``'s redirect policy).
/// - Blob transfers run ``OCIClientOptions/concurrency`` at a time on their own threads
///   (``TransferWorkers``); downloads stream into the store's ``IncomingBlob``s, which hash them on the way in.
///
/// ```swift
/// let client = try OCIClient(reference: OCIReference(parsing: "ghcr.io/acme/models"), auth: authenticator,
///                            options: OCIClientOptions())
/// try client.putBlobs(entries, from: outgoing)
/// let digest = try client.putManifest(bytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
/// ```
public final class OCIClient: Sendable {
    /// The repository this client speaks to.
    public let reference: OCIReference
    /// The settings it was made with.
    public let options: OCIClientOptions
    let auth: any OCIAuthorizing
    /// The client for every request.
    let http: HTTPClient
    /// The same client making one attempt per call: uploads and their resumption are retried here, from
    /// what the registry reports, not from the first byte.
    let once: HTTPClient
    /// `http(s)://host[:port]`, no trailing slash.
    public let baseURL: String
    /// `<baseURL>/v2/<repository>`.
    let repositoryURL: String
    /// The registry's origin (``RemoteURL/origin``): only requests to it carry the Authorization header.
    let origin: String
    /// Set once the registry (or its blob storage) answered a range request with the whole body: later
    /// blobs come in one stream.
    let rangesIgnored = Locked(false)
    /// The ``OCIClientOptions/mountFrom`` repositories the registry refused these credentials a mount from:
    /// their blobs are uploaded without asking again.
    let mountRefused = Locked(Set<String>())

    /// A client for `reference`. `http` gives the timeouts and retries (its URL policy and CA bundle are
    /// replaced from `options`); a plain-HTTP registry must be on this machine unless `options.insecure`.
    public init(reference: OCIReference, auth: any OCIAuthorizing, options: OCIClientOptions = OCIClientOptions(),
                http: HTTPClient? = nil) throws {
        self.reference = reference
        self.options = options
        self.auth = auth
        let plain = options.plainHTTP ?? (options.insecure || (reference.isLoopback && options.caBundle == nil))
        if plain && !options.insecure && !reference.isLoopback {
            throw ConfigError(.invalidValue, file: nil, key: "model_sync.oci.reference",
                              reason: "plain HTTP to \(reference.registry) is refused (only to this machine)",
                              hint: "use a registry served over https, or set oci.insecure: true on a trusted network")
        }
        for source in options.mountFrom where OCIConfig.repositoryProblem(source) != nil {
            throw ConfigError(.invalidValue, file: nil, key: "model_sync.oci.mount_from",
                              reason: "\"\(source.prefix(200))\" is not a repository name",
                              hint: "list repositories of the same registry, without the host (team/base-models)")
        }
        var client = http ?? HTTPClient(requestTimeout: 120)
        client.urlPolicy.allowInsecureHTTP = options.insecure
        if let caBundle = options.caBundle { client.caBundle = caBundle }
        self.http = client
        var single = client
        single.maxAttempts = 1
        self.once = single
        baseURL = (plain ? "http://" : "https://") + reference.registry
        repositoryURL = baseURL + "/v2/" + reference.repository
        origin = try RemoteURL(baseURL).origin
    }

    /// Reads of this repository.
    var pullScope: OCIScope { OCIScope(repository: reference.repository, actions: ["pull"]) }
    /// Writes to this repository.
    var pushScope: OCIScope { OCIScope(repository: reference.repository, actions: ["pull", "push"]) }
    /// Deletes in this repository.
    var deleteScope: OCIScope { OCIScope(repository: reference.repository, actions: ["delete"]) }

    /// `<registry>/<repository>`, for messages.
    var describe: String { reference.description }

    /// The `Authorization` header for a request to `url` in `scope`: none for another origin.
    func authorization(for url: String, scope: OCIScope) -> [(String, String)] {
        guard isRegistryOrigin(url), let value = auth.authorization(for: scope) else { return [] }
        return [("Authorization", value)]
    }

    /// True when `url` is on the registry's scheme, host and port.
    func isRegistryOrigin(_ url: String) -> Bool {
        (try? RemoteURL(url))?.origin == origin
    }

    /// Sends `request` with the scope's authorization; a 401 carrying a challenge is answered and the
    /// request sent once more with the answer. HTTP failures become ``OCIError``s naming `what`.
    func send(_ request: HTTPRequest, scope: OCIScope, what: @autoclosure () -> String,
              using client: HTTPClient? = nil) throws -> HTTPResponse {
        let client = client ?? http
        var request = request
        request.headers += authorization(for: request.url, scope: scope)
        let response: HTTPResponse
        do {
            response = try client.send(request)
        } catch {
            throw OCIError.transfer(error, what: what())
        }
        guard let answer = try answer(response, url: request.url, scope: scope) else { return response }
        request.headers.removeAll { $0.0.lowercased() == "authorization" }
        request.headers.append(("Authorization", answer))
        do {
            return try client.send(request)
        } catch {
            throw OCIError.transfer(error, what: what())
        }
    }

    /// The header answering a 401's challenge, or nil when the answer is not a 401 with a challenge on the
    /// registry's origin or no credentials answer it.
    func answer(_ response: HTTPResponse, url: String, scope: OCIScope) throws -> String? {
        guard response.status == 401, isRegistryOrigin(url),
              let challenge = response.headers["www-authenticate"], !challenge.isEmpty else { return nil }
        return try auth.answer(challenge: challenge, scope: scope)
    }

    /// Makes a relative `Location` absolute against the request URL it answered.
    func resolve(_ location: String, against url: String) throws -> String {
        do {
            return try RemoteURL(url).resolving(location).string
        } catch {
            throw OCIError(.invalidAnswer, "the registry \(reference.registry) answered an invalid Location "
                           + "\(HTTPError.redact(location)) for \(HTTPError.redact(url))")
        }
    }

    /// Throws the registry's error unless `response` has one of the `expected` statuses.
    func expect(_ response: HTTPResponse, _ expected: Set<Int>, method: String, url: String, what: String) throws {
        guard expected.contains(response.status) else {
            throw OCIError.answer(response, method: method, url: url, what: what)
        }
    }
}
