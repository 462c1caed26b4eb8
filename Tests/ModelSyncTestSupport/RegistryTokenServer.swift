import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures/oci/token_server.py on 127.0.0.1: a registry token server (the distribution token protocol)
/// whose ES256 JWTs a CNCF distribution registry accepts once started with ``registryAuth`` (realm, service,
/// issuer and the certificate bundle the tokens are checked against). Runs under the `make lfs-venv`
/// Python, which has PyJWT and cryptography.
///
/// Stopped with SIGKILL: children of a test inherit a mask that blocks SIGTERM.
public final class RegistryTokenServer: @unchecked Sendable {
    // @unchecked: every property is set in init and never changed; the process is only signalled in stop().

    /// A user the server knows, and the repository actions it grants them.
    public struct User: Sendable {
        /// The user name (HTTP Basic).
        public var name: String
        /// The password.
        public var password: String
        /// The repository actions granted (`pull`, `push`, `delete`).
        public var actions: [String]
        /// The actions granted on the repositories named here, instead of ``actions``.
        public var repositories: [String: [String]]

        /// A user with a password and the actions granted (`["pull", "push", "delete"]`), on the repositories
        /// of `repositories` those it lists.
        public init(_ name: String, password: String, actions: [String] = ["pull", "push", "delete"],
                    repositories: [String: [String]] = [:]) {
            self.name = name
            self.password = password
            self.actions = actions
            self.repositories = repositories
        }
    }

    /// One request the server received (no secret is logged).
    public struct Request: Decodable, Sendable {
        /// `GET` (the token protocol) or `POST` (OAuth2).
        public let method: String
        /// The route (`/token`).
        public let path: String
        /// The `service` parameter.
        public let service: String?
        /// The `scope` parameters.
        public let scopes: [String]
        /// The user the credentials named (or the refresh token stood for); nil for anonymous.
        public let user: String?
        /// Whether the credentials were accepted (or none were needed).
        public let authorized: Bool
        /// The OAuth2 `grant_type` of a POST.
        public let grant_type: String?
        /// Whether the request carried an `Authorization` header.
        public let has_authorization: Bool
    }

    private let process = Process()
    private let directory = TemporaryDirectory("model-sync-token-server")
    /// The port it listens on.
    public let port: Int
    /// The service name tokens are issued for (the registry's `auth.token.service`).
    public let service = "model-sync-test-registry"
    /// The issuer written in tokens (the registry's `auth.token.issuer`).
    public let issuer = "model-sync-test-issuer"
    /// The PEM certificate that signs the tokens (the registry's `auth.token.rootcertbundle`).
    public let rootCertBundle: String

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The token endpoint, `http://127.0.0.1:<port>/token`.
    public var realm: String { baseURL + "/token" }

    /// The `make lfs-venv` virtual environment, whose Python has PyJWT and cryptography.
    public static var venv: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/lfs-venv").path
    }

    /// Starts a server for `users`; anonymous requests get `anonymousActions` ([] refuses them);
    /// `refreshTokens` maps identity tokens to users for the OAuth2 POST; `expiresIn` nil leaves `expires_in`
    /// out of the answer; `field` is `token`, `access_token` or `both`.
    public init(users: [User] = [], anonymousActions: [String] = ["pull"], refreshTokens: [String: String] = [:],
                expiresIn: Int? = 300, field: String = "token") throws {
        let python = Self.venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestServerError("the token server needs \(Self.venv): run `make lfs-venv`")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        rootCertBundle = directory.path + "/token-issuer.pem"
        var config: [String: Any] = [
            "cert_out": rootCertBundle, "issuer": issuer, "anonymous": anonymousActions,
            "refresh_tokens": refreshTokens, "field": field,
            "users": Dictionary(uniqueKeysWithValues: users.map {
                ($0.name, ["password": $0.password, "actions": $0.actions, "repositories": $0.repositories] as [String: Any])
            }),
        ]
        config["expires_in"] = expiresIn ?? NSNull()
        let configPath = directory.write("config.json", Array(try JSONSerialization.data(withJSONObject: config)))
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Fixtures/oci/token_server.py").path, configPath]
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: directory.write("server.log", []))
        try process.run()
        guard let port = readPortLine(output.fileHandleForReading.fileDescriptor, timeout: 30) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestServerError("the token server did not start: "
                                  + String(decoding: directory.read("server.log").suffix(2000), as: UTF8.self))
        }
        self.port = port
    }

    deinit { stop() }

    /// Stops the server (idempotent).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The requests received so far, from its /log route.
    public func requests() throws -> [Request] {
        let (status, body) = try httpGet(baseURL + "/log")
        guard status == 200 else { throw TestServerError("the token server's log answered \(status)") }
        return try JSONDecoder().decode([Request].self, from: Data(body.utf8))
    }
}

/// A test server that could not be started or asked.
public struct TestServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

extension RegistryTokenServer {
    /// The registry configuration that trusts this server's tokens.
    public var registryAuth: DistributionRegistry.Auth {
        .token(realm: realm, service: service, issuer: issuer, rootCertBundle: rootCertBundle)
    }
}
