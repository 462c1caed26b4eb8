import Foundation
import Testing
import ModelSyncTestSupport

/// Registry logins through the built binary, against a real distribution registry: token mode with the test
/// token server (credentials from oci.password_env or the Docker config file, anonymous pulls), and htpasswd
/// Basic behind TLS with the registry's own CA in `oci.ca_bundle`.
@Suite("OCI registry authentication end to end", .serialized)
struct OCIAuthEndToEndTests {
    static let password = "Publisher-pa55word-1"
    static let files: [String: [UInt8]] = [
        "model.bin": pseudoRandomBytes(count: 200_000, seed: 21),
        "sub/config.json": Array(#"{"layers": 2}"#.utf8),
    ]

    func setUp(_ sandbox: Sandbox, registry: DistributionRegistry, publisherExtra: String, clientExtra: String) {
        for (path, bytes) in Self.files { sandbox.write("publisher/models/" + path, bytes) }
        for (name, extra) in [("publisher", publisherExtra), ("client", clientExtra)] {
            sandbox.writeOCIConfig(name, registry: registry, extra: extra)
        }
    }

    /// Alice's login in a config's `oci:` section: her user name and `oci.password_env`.
    static let aliceLogin = "    username: alice\n    password_env: REGISTRY_PASSWORD"

    /// A registry in token mode (`tokens`, by default alice alone and no anonymous access), a sandbox whose
    /// publisher.yaml logs in as alice (plus `publisherExtra`) and whose client.yaml has no login, and the
    /// publisher's command line with `password` in `REGISTRY_PASSWORD`.
    func tokenSetUp(_ tokens: RegistryTokenServer? = nil, password: String = Self.password, publisherExtra: String = "")
        throws -> (tokens: RegistryTokenServer, registry: DistributionRegistry, sandbox: Sandbox, publisher: CLI) {
        let tokens = try tokens ?? RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: [])
        let registry = try DistributionRegistry.start(auth: tokens.registryAuth)
        let sandbox = Sandbox("oci-auth")
        setUp(sandbox, registry: registry, publisherExtra: Self.aliceLogin + publisherExtra, clientExtra: "")
        var publisher = sandbox.cli
        publisher.environment["REGISTRY_PASSWORD"] = password
        return (tokens, registry, sandbox, publisher)
    }

    @Test("token mode: publish with oci.password_env, pull with the Docker config file, oras reads it with the same login")
    func tokenMode() throws {
        let (tokens, registry, sandbox, publisher) = try tokenSetUp()
        let published = try publisher.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(!published.stdout.contains(Self.password) && !published.stderr.contains(Self.password))

        let dockerConfig = OCITools.dockerConfig(in: sandbox.path + "/docker", registry: registry.host,
                                                 user: "alice", password: Self.password)
        var client = sandbox.cli
        client.environment["DOCKER_CONFIG"] = sandbox.path + "/docker"
        let pulled = try client.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0 && pulled.json["result"] as? String == "activated", "\(pulled.stderr)")
        #expect(OCITools.files(in: sandbox.path + "/client/models") == Self.files)

        try OCITools.orasPull("\(registry.host)/org/models:latest", into: sandbox.path + "/oras", dockerConfig: dockerConfig)
        #expect(OCITools.files(in: sandbox.path + "/oras") == Self.files)

        let log = try tokens.requests()
        #expect(log.contains { $0.user == "alice" && $0.scopes.contains("repository:org/models:pull,push") })
        #expect(log.allSatisfy { $0.authorized }, "every token request carried alice's credentials")
    }

    @Test("token mode: the Docker config's identity token and its credential helper log in too")
    func dockerConfigVariants() throws {
        let (tokens, registry, sandbox, publisher) = try tokenSetUp(
            RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: [],
                                refreshTokens: ["identity-token-5f3a9c": "alice"]))
        #expect(try publisher.run(["publish", "--config", "publisher.yaml"]).status == 0)

        // `docker login` to a registry that issues identity tokens stores one instead of the password.
        sandbox.write("identity/config.json", #"{"auths": {"\#(registry.host)": {"auth": "", "identitytoken": "identity-token-5f3a9c"}}}"#)
        var client = sandbox.cli
        client.environment["DOCKER_CONFIG"] = sandbox.path + "/identity"
        let pulled = try client.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0 && pulled.json["result"] as? String == "activated", "\(pulled.stderr)")
        #expect(try tokens.requests().contains { $0.method == "POST" && $0.grant_type == "refresh_token" && $0.user == "alice" })

        // credsStore: docker-credential-<name> get, the registry on stdin, answers the login.
        sandbox.write("bin/docker-credential-testkeyring", Array("""
            #!/bin/sh
            read server
            [ "$server" = "\(registry.host)" ] || { echo "credentials not found in native keychain"; exit 1; }
            printf '{"ServerURL":"%s","Username":"alice","Secret":"\(Self.password)"}' "$server"
            """.utf8), mode: 0o755)
        sandbox.write("helper/config.json", #"{"credsStore": "testkeyring"}"#)
        sandbox.writeOCIConfig("helper-client", registry: registry)
        var helperClient = sandbox.cli
        helperClient.environment["DOCKER_CONFIG"] = sandbox.path + "/helper"
        helperClient.environment["PATH"] = sandbox.path + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let helped = try helperClient.run(["pull", "--config", "helper-client.yaml", "--json"])
        #expect(helped.status == 0 && helped.json["result"] as? String == "activated", "\(helped.stderr)")
        #expect(OCITools.files(in: sandbox.path + "/helper-client/models") == Self.files)
    }

    @Test("token mode: gc --registry gets a delete token and removes the sets beyond keep_manifests")
    func deleteScope() throws {
        let (tokens, registry, sandbox, publisher) = try tokenSetUp(publisherExtra: "\n  registry:\n    keep_manifests: 1")
        #expect(try publisher.run(["publish", "--config", "publisher.yaml"]).status == 0)
        sandbox.write("publisher/models/model.bin", pseudoRandomBytes(count: 1000, seed: 4242))
        #expect(try publisher.run(["publish", "--config", "publisher.yaml"]).status == 0)
        let collected = try publisher.run(["gc", "--registry", "--config", "publisher.yaml", "--json"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(try tokens.requests().contains { $0.user == "alice" && $0.scopes.contains { $0.hasSuffix(":delete") } })
        let tags = try OCITools.skopeoTags("\(registry.host)/org/models", authfile: OCITools.dockerConfig(
            in: sandbox.path + "/docker", registry: registry.host, user: "alice", password: Self.password))
        #expect(tags.filter { $0.hasPrefix("sha256-") }.count == 1, "\(tags)")
    }

    @Test("token mode: oci.mount_from mounts what the base repository holds, one token carrying both; without pull there, blobs are uploaded")
    func mountFrom() throws {
        let tokens = try RegistryTokenServer(users: [.init("alice", password: Self.password),
                                                     .init("bob", password: Self.password, repositories: ["org/base": []])],
                                             anonymousActions: [])
        let registry = try DistributionRegistry.start(auth: tokens.registryAuth)
        let sandbox = Sandbox("oci-auth")
        let login = { (user: String) in "    username: \(user)\n    password_env: REGISTRY_PASSWORD\n    mount_from: [org/base]" }
        setUp(sandbox, registry: registry, publisherExtra: login("alice"), clientExtra: "")
        for (name, repository, user) in [("base", "org/base", "alice"), ("bob", "org/bobs", "bob")] {
            sandbox.writeOCIConfig(name, models: "publisher/models", registry: registry, repository: repository,
                                   extra: login(user))
        }
        var cli = sandbox.cli
        cli.environment["REGISTRY_PASSWORD"] = Self.password
        let base = try cli.run(["publish", "--config", "base.yaml", "--json"])
        #expect(base.status == 0, "\(base.stderr)")
        // Blob uploads the registry completed in a repository (the closing PUT of each session).
        let uploads = { (repository: String) in
            String(decoding: registry.directory.read("registry.log"), as: UTF8.self).split(separator: "\n")
                .filter { $0.contains("response completed") && $0.contains("http.request.method=PUT")
                    && $0.contains("http.request.uri=\"/v2/\(repository)/blobs/uploads/") }.count
        }
        #expect(uploads("org/base") == 3, "two files and the config blob")

        let mounted = try cli.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(mounted.status == 0, "\(mounted.stderr)")
        #expect(uploads("org/models") == 1, "only the config blob (not in a layer, so not mounted) is sent")
        #expect(try tokens.requests().contains {
            $0.user == "alice" && $0.scopes == ["repository:org/models:pull,push", "repository:org/base:pull"]
        })

        let uploaded = try cli.run(["publish", "--config", "bob.yaml", "--json"])
        #expect(uploaded.status == 0, "\(uploaded.stderr)")
        #expect(uploads("org/bobs") == 3, "bob may not read org/base: every blob is uploaded")
        var client = sandbox.cli
        client.environment["REGISTRY_PASSWORD"] = Self.password
        sandbox.writeOCIConfig("bob-client", registry: registry, repository: "org/bobs",
                               extra: "    username: bob\n    password_env: REGISTRY_PASSWORD")
        let pulled = try client.run(["pull", "--config", "bob-client.yaml", "--json"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(OCITools.files(in: sandbox.path + "/bob-client/models") == Self.files)
    }

    @Test("token mode: a wrong password is exit 4 naming the registry and the token endpoint, never the password")
    func wrongPassword() throws {
        let (tokens, registry, sandbox, publisher) = try tokenSetUp(password: "not-the-Password-99")
        let refused = try publisher.run(["publish", "--config", "publisher.yaml"])
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("registry \(registry.host)") && refused.stderr.contains(tokens.realm))
        #expect(refused.stderr.contains("REGISTRY_PASSWORD (oci.password_env)"))
        #expect(!refused.stderr.contains("not-the-Password-99"))

        // No credentials at all, and anonymous access refused: the hint says how to log in.
        var client = sandbox.cli
        client.environment["DOCKER_CONFIG"] = sandbox.path + "/no-docker-config"
        let anonymous = try client.run(["pull", "--config", "client.yaml"])
        #expect(anonymous.status == 4)
        #expect(anonymous.stderr.contains("docker login \(registry.host)"))
    }

    @Test("token mode: a public repository is pulled anonymously, with no Authorization sent to the token endpoint")
    func anonymousPull() throws {
        let (tokens, registry, sandbox, publisher) = try tokenSetUp(
            RegistryTokenServer(users: [.init("alice", password: Self.password)], anonymousActions: ["pull"]))
        #expect(try publisher.run(["publish", "--config", "publisher.yaml"]).status == 0)
        let before = try tokens.requests().count
        var client = sandbox.cli
        client.environment["DOCKER_CONFIG"] = sandbox.path + "/no-docker-config"
        let pulled = try client.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0 && pulled.json["result"] as? String == "activated", "\(pulled.stderr)")
        let anonymousRequests = try tokens.requests().dropFirst(before)
        #expect(!anonymousRequests.isEmpty && anonymousRequests.allSatisfy { !$0.has_authorization && $0.user == nil })
        withExtendedLifetime(registry) {}  // the registry process lives as long as its value
    }

    @Test("htpasswd behind TLS: publish and pull with oci.ca_bundle; without the CA the certificate is refused")
    func basicOverTLS() throws {
        let registry = try DistributionRegistry.start(tls: true, auth: .htpasswd(user: "alice", password: Self.password))
        let ca = try #require(registry.caBundle)
        let sandbox = Sandbox("oci-auth")
        let login = "    username: alice\n    password_env: REGISTRY_PASSWORD\n    ca_bundle: \"\(ca)\""
        setUp(sandbox, registry: registry, publisherExtra: login, clientExtra: login)
        var cli = sandbox.cli
        cli.environment["REGISTRY_PASSWORD"] = Self.password
        let published = try cli.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(published.status == 0, "\(published.stderr)")
        let pulled = try cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0 && pulled.json["result"] as? String == "activated", "\(pulled.stderr)")
        #expect(OCITools.files(in: sandbox.path + "/client/models") == Self.files)

        sandbox.writeOCIConfig("untrusting", folder: "other", registry: registry,
                               extra: "    username: alice\n    password_env: REGISTRY_PASSWORD")
        let untrusted = try cli.run(["pull", "--config", "untrusting.yaml"])
        #expect(untrusted.status == 4)
        #expect(!untrusted.stderr.contains(Self.password))
    }
}
