import Foundation

/// The credentials part of a Docker config file (`config.json`), read as docker, podman, oras and skopeo
/// read it: `auths` keyed by registry (`ghcr.io`, `https://ghcr.io`, `https://index.docker.io/v1/`), each
/// entry with `auth` (base64 of `user:password`) or `username`/`password`, and an `identitytoken`;
/// `credHelpers` (a helper per registry) and `credsStore` (a helper for every registry), run as
/// `docker-credential-<name> get` (``DockerCredentialStore``).
///
/// ```swift
/// if let config = try DockerConfigFile.load(path: DockerConfigFile.path(environment: env)!) {
///     let credentials = try config.credentials(for: "ghcr.io", environment: env)
/// }
/// ```
public struct DockerConfigFile: Sendable {
    /// One `auths` entry as written.
    struct Entry: Decodable, Sendable {
        var auth: String?
        var username: String?
        var password: String?
        var identitytoken: String?
    }

    private struct Contents: Decodable {
        var auths: [String: Entry]?
        var credsStore: String?
        var credHelpers: [String: String]?
    }

    /// The file, for messages.
    public let path: String
    /// `auths` as written.
    let auths: [String: Entry]
    /// `credsStore`: the helper for every registry.
    let credsStore: String?
    /// `credHelpers`: a helper per registry host.
    let credHelpers: [String: String]

    /// The key docker uses for Docker Hub, whose registry answers as `registry-1.docker.io`.
    static let dockerHubKey = "https://index.docker.io/v1/"

    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; nil when neither variable is set.
    public static func path(environment: [String: String]) -> String? {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty { return directory + "/config.json" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.docker/config.json" }
        return nil
    }

    /// The file at `path`, nil when it does not exist; throws ``OCIAuthError`` (exit 2) when it exists but is
    /// not a readable JSON object of the expected shape. Messages never quote the file's content.
    public static func load(path: String) throws(OCIAuthError) -> DockerConfigFile? {
        let bytes: [UInt8]
        switch readWholeFile(path) {
        case .success(let read): bytes = read
        case .failure(let failure) where failure.code == ENOENT: return nil
        case .failure(let failure):
            throw OCIAuthError(.dockerConfig, "cannot read the Docker config file \(path): \(failure.text)",
                               hint: "fix its permissions, or point DOCKER_CONFIG at another folder")
        }
        return try parse(bytes, path: path)
    }

    /// Parses a config file's bytes; `path` names it in messages.
    static func parse(_ bytes: [UInt8], path: String) throws(OCIAuthError) -> DockerConfigFile {
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            // The decoder's text may quote the file's values: say where, not what.
            throw OCIAuthError(.dockerConfig,
                               "the Docker config file \(path) is not valid JSON of the expected shape "
                                   + "(auths: {host: {auth, username, password, identitytoken}}, credsStore, credHelpers)",
                               hint: "fix the file (`docker login` rewrites it), or point DOCKER_CONFIG at another folder")
        }
        return DockerConfigFile(path: path, auths: contents.auths ?? [:], credsStore: contents.credsStore,
                                credHelpers: contents.credHelpers ?? [:])
    }

    /// The host docker files `registry` under (`ghcr.io`, `127.0.0.1:5000`; `index.docker.io` for Docker Hub).
    static func normalizedHost(_ registry: String) -> String {
        var host = Substring(registry.lowercased())
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host = host.dropFirst(scheme.count) }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        return ["docker.io", "registry-1.docker.io"].contains(host) ? "index.docker.io" : String(host)
    }

    /// The name the credential helpers know `registry` by: the host, or docker's key for Docker Hub.
    static func helperServerURL(_ registry: String) -> String {
        normalizedHost(registry) == "index.docker.io" ? dockerHubKey : registry
    }

    /// The credentials for `registry`, as docker picks them: `credHelpers[host]`, else `credsStore`, else
    /// the `auths` entry (an exact key first, then keys that name the same host: `https://host`, `host/v1/`).
    /// A helper that has nothing for the host falls back to the entry. Nil when nothing is stored.
    public func credentials(for registry: String, environment: [String: String]) throws(OCIAuthError) -> OCICredentials? {
        let host = Self.normalizedHost(registry)
        let helper = credHelpers.first { Self.normalizedHost($0.key) == host }?.value ?? credsStore
        if let helper, !helper.isEmpty {
            let found = try DockerCredentialStore(name: helper, configFile: path)
                .get(serverURL: Self.helperServerURL(registry), environment: environment)
            if let found { return found }
        }
        guard let (key, entry) = entry(for: registry) else { return nil }
        return try credentials(from: entry, key: key)
    }

    /// The `auths` entry for `registry` and its key.
    func entry(for registry: String) -> (String, Entry)? {
        if let exact = auths[registry] { return (registry, exact) }
        let host = Self.normalizedHost(registry)
        // Sorted, so that two keys naming one host pick the same entry on every run.
        return auths.sorted { $0.key < $1.key }.first { Self.normalizedHost($0.key) == host }.map { ($0.key, $0.value) }
    }

    /// The credentials an entry holds, nil for an empty entry (what `credsStore` leaves in `auths`).
    func credentials(from entry: Entry, key: String) throws(OCIAuthError) -> OCICredentials? {
        var username = entry.username ?? ""
        var password = entry.password ?? ""
        if let auth = entry.auth, !auth.isEmpty {
            guard let decoded = Data(base64Encoded: auth.trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                throw OCIAuthError(.dockerConfig,
                                   "the auths entry \"\(key)\" of \(path) has an auth value that is not base64 of user:password",
                                   hint: "run `docker login \(key)` again, or write username and password instead of auth")
            }
            username = String(text[..<colon])
            password = String(text[text.index(after: colon)...])
        }
        let identityToken = entry.identitytoken.flatMap { $0.isEmpty ? nil : $0 }
        guard !password.isEmpty || identityToken != nil else { return nil }
        return OCICredentials(username: username, password: password, identityToken: identityToken,
                              origin: .dockerConfig(file: path))
    }
}
