#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A registry served by `git http-backend` (Fixtures/git/http_backend_server.py) whose pre-receive hook refuses
/// blobs over `limit` bytes with GitHub-like messages; `publisher.yaml` and `client.yaml` name it with
/// `git.token_env: REGISTRY_TOKEN` and `extraGit` (more `git:` keys).
struct HostedRegistryFixture {
    let fixture: RegistryFixture
    let server: AuthenticatedHTTPRegistry
    let url: String
    let token: String
    static let limit = 30_000

    init(files: Int = 3, token: String = "ghp-test-7d1f0c2a9b8e4f61", user: String? = nil, extraGit: String = "") throws {
        fixture = RegistryFixture(files: files)
        self.token = token
        fixture.git(["config", "http.receivepack", "true"])
        fixture.git(["config", "hooks.maxblobbytes", String(Self.limit)])
        let hook = fixture.registry + "/hooks/pre-receive"
        try FileManager.default.copyItem(atPath: CLI.packageRoot + "/Fixtures/git/pre-receive-size-limit.sh", toPath: hook)
        chmod(hook, 0o755)
        server = try AuthenticatedHTTPRegistry(root: fixture.sandbox.path, token: token, user: user)
        url = "http://127.0.0.1:\(server.port)/registry.git"
        fixture.git(["remote", "set-url", "origin", url], in: "publisher/repo")
        let git = """
              git:
                token_env: REGISTRY_TOKEN
            \(user.map { "    username: \"\($0)\"\n" } ?? "")\(extraGit)
            """
        fixture.sandbox.write("publisher.yaml", Array("""
            model_sync:
              models_dir: publisher/models
              store_dir: publisher/store
              repo_dir: publisher/repo
            \(git)
                author_name: Publisher
                author_email: publisher@example.invalid

            """.utf8))
        fixture.sandbox.write("client.yaml", Array("""
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "\(url)"
            \(git)

            """.utf8))
    }

    var sandbox: Sandbox { fixture.sandbox }

    func run(_ command: String, config: String) throws -> CLI.Result {
        var cli = fixture.sandbox.cli
        cli.environment["REGISTRY_TOKEN"] = token
        return try cli.run([command, "--config", config, "--json"])
    }

    func publish() throws -> CLI.Result { try run("publish", config: "publisher.yaml") }
    func pull() throws -> CLI.Result { try run("pull", config: "client.yaml") }

    /// The bytes of the pushes the server received (`git-receive-pack` request bodies are not logged; the
    /// registry's pack files stand in for them).
    func registryPackBytes() -> Int {
        let directory = fixture.registry + "/objects/pack"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".pack") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
        }
    }
}

@Suite("a hosted registry that refuses large files, and Git LFS", .serialized)
struct GitLFSRegistryEndToEndTests {
    @Test("a push the host refuses fails with exit 4 and the host's own message, the token scrubbed, with a hint about Git LFS")
    func hostRefusalIsShown() throws {
        let hosted = try HostedRegistryFixture(extraGit: "    lfs: false\n")
        hosted.sandbox.write("publisher/models/set/large.bin", pseudoRandomBytes(count: HostedRegistryFixture.limit + 1, seed: 99))
        let refused = try hosted.publish()
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("pre-receive hook declined"), "\(refused.stderr)")
        #expect(refused.stderr.contains("remote: error: GH001: Large files detected."), "\(refused.stderr)")
        #expect(refused.stderr.contains("is \(HostedRegistryFixture.limit + 1) bytes; this exceeds the file size limit"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("model_sync.git.lfs: true"), "\(refused.stderr)")
        let error = refused.json["error"] as? [String: Any]
        #expect((error?["message"] as? String)?.contains("GH001") == true, "\(refused.stdout)")
        #expect(!refused.stdout.contains(hosted.token) && !refused.stderr.contains(hosted.token))
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: hosted.fixture.registry).status != 0)

        // Under the limit the same host takes the push, and says nothing worth reporting.
        try FileManager.default.removeItem(atPath: hosted.sandbox.path + "/publisher/models/set/large.bin")
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")
        withExtendedLifetime(hosted) {}
    }
}
