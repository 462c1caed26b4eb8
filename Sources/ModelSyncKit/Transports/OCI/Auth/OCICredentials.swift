import Foundation

/// A registry login: a user name and a password (or an access token used as one), or an identity token
/// (the refresh token `docker login` stores for registries that issue one).
///
/// The password and the identity token are secrets: they are kept out of ``description``, `debugDescription`
/// and reflection (`dump`, `String(reflecting:)` print `[secret]`), and are only ever sent to the registry
/// host and the token endpoint its challenge names (``OCIAuthenticator``).
///
/// ```swift
/// let credentials = try OCICredentials.resolve(registry: "ghcr.io", username: "alice", passwordEnv: "GHCR_TOKEN",
///                                              environment: ProcessInfo.processInfo.environment)
/// ```
public struct OCICredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    /// Where credentials came from, so an error can say what to fix.
    public enum Origin: Sendable, Hashable, CustomStringConvertible {
        /// `oci.username` and the variable `oci.password_env` names.
        case environment(variable: String)
        /// The `auths` entry of this Docker config file.
        case dockerConfig(file: String)
        /// `docker-credential-<name>`, named by the Docker config's `credsStore` or `credHelpers`.
        case credentialHelper(name: String)

        public var description: String {
            switch self {
            case .environment(let variable): return "oci.username and \(variable)"
            case .dockerConfig(let file): return file
            case .credentialHelper(let name): return "docker-credential-\(name)"
            }
        }
    }

    /// The user name (for an identity token, whatever the config file held, often `<token>`).
    public let username: String
    /// The password; empty when only an identity token is known.
    let password: String
    /// The OAuth2 refresh token `docker login` stored as `identitytoken`, when there is one.
    let identityToken: String?
    /// Where these credentials came from.
    public let origin: Origin

    /// Credentials for `username` with `password`.
    public init(username: String, password: String, identityToken: String? = nil, origin: Origin) {
        self.username = username
        self.password = password
        self.identityToken = identityToken.flatMap { $0.isEmpty ? nil : $0 }
        self.origin = origin
    }

    /// `Basic base64(user:password)`, the `Authorization` header of HTTP Basic.
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// The secret values, for scrubbing text that might quote them: the password, the identity token, and the
    /// Basic header's base64 (a server that echoes the header would otherwise leak the password encoded).
    var secrets: [String] {
        let encoded = password.isEmpty ? nil : Data("\(username):\(password)".utf8).base64EncodedString()
        return [password, identityToken, encoded].compactMap { $0 }.filter { !$0.isEmpty }
    }

    /// `text` with every secret of these credentials replaced by `[redacted]`.
    func scrub(_ text: String) -> String {
        SecretScrubber(secrets: secrets).scrub(text)
    }

    public var description: String { "user \(username) (from \(origin))" }
    public var debugDescription: String { "OCICredentials(\(description), password: [secret])" }
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "password": "[secret]", "origin": origin], displayStyle: .struct)
    }

    /// The credentials for `registry` (`host[:port]`): `oci.username` with the variable `oci.password_env`
    /// names when both are set; else the Docker config file's (``DockerConfigFile``: `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`); nil when neither has any (anonymous access).
    ///
    /// Throws ``OCIAuthError`` (exit 2) when the variable is not set or empty, or when the Docker config file
    /// exists but cannot be used.
    public static func resolve(
        registry: String, username: String?, passwordEnv: String?, environment: [String: String]
    ) throws(OCIAuthError) -> OCICredentials? {
        if let passwordEnv {
            guard let password = environment[passwordEnv], !password.isEmpty else {
                throw OCIAuthError(.missingPassword,
                                   "oci.password_env names \(passwordEnv), which is not set (or empty): "
                                       + "there is no password for \(username ?? "the user") at \(registry)",
                                   hint: "export \(passwordEnv) (or put it in .env), or remove oci.password_env "
                                       + "to use the credentials of `docker login \(registry)`")
            }
            SecretScrubber.register([password])
            return OCICredentials(username: username ?? "", password: password,
                                  origin: .environment(variable: passwordEnv))
        }
        guard let file = DockerConfigFile.path(environment: environment) else { return nil }
        guard let config = try DockerConfigFile.load(path: file) else { return nil }
        let credentials = try config.credentials(for: registry, environment: environment)
        if let credentials { SecretScrubber.register(credentials.secrets) }
        return credentials
    }
}
