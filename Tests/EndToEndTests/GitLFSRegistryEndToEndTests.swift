#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A registry served by `git http-backend` (Fixtures/git/http_backend_server.py) whose pre-receive hook refuses
/// blobs over `limit` bytes with GitHub-like messages; `publisher.yaml` and `client.yaml` name it with
/// `git.token_env: REGISTRY_TOKEN` and `extraGit` (more `git:` keys).
///
/// With `lfs`, giftless runs beside it (``LFSServerProcess``) and both configurations name it in `git.lfs_url`
/// with its JWT as the token (user `_jwt`), which the git server requires too.
struct HostedRegistryFixture {
    let fixture: RegistryFixture
    let server: AuthenticatedHTTPRegistry
    let lfsServer: LFSServerProcess?
    let url: String
    let token: String
    static let limit = 30_000

    init(files: Int = 3, lfs: Bool = false, extraGit: String = "") throws {
        fixture = RegistryFixture(files: files)
        var extraGit = extraGit
        var user: String?
        if lfs {
            let lfsServer = try LFSServerProcess(directory: fixture.sandbox.path)
            self.lfsServer = lfsServer
            token = lfsServer.token
            user = "_jwt"
            extraGit += "    lfs_url: \(lfsServer.url)\n"
        } else {
            lfsServer = nil
            token = "ghp-test-7d1f0c2a9b8e4f61"
        }
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
        // No LFS key: `auto` finds no LFS API on this host and commits the blobs into git.
        let hosted = try HostedRegistryFixture()
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

    /// Each object file of the registry's tree at `main`: its path and its bytes.
    static func treeObjects(_ fixture: RegistryFixture) -> [(path: String, bytes: String)] {
        let listing = fixture.git(["ls-tree", "-r", "--name-only", "main", "models/objects"])
        return listing.split(separator: "\n").map { path in
            (String(path), fixture.git(["show", "main:\(path)"]))
        }
    }

    @Test("through Git LFS a file over the host's limit publishes and pulls; the commit holds pointers and the push stays small")
    func largeFileThroughLFS() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let large = pseudoRandomBytes(count: 3 * HostedRegistryFixture.limit, seed: 42)
        hosted.sandbox.write("publisher/models/set/large.bin", large)
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 4)
        #expect(published.json["new_bytes"] as? Int == large.count + 20_000 + 20_001 + 20_002)

        // The registry: pointers under objects/, the .gitattributes git-lfs writes, the bytes on the LFS server.
        let fixture = hosted.fixture
        #expect(fixture.git(["show", "main:.gitattributes"]) == "models/objects/sha256/** filter=lfs diff=lfs merge=lfs -text")
        let objects = Self.treeObjects(fixture)
        #expect(objects.count == 4)
        for (path, text) in objects {
            let hex = String(path.split(separator: "/").last!)
            #expect(text.hasPrefix("version https://git-lfs.github.com/spec/v1\noid sha256:\(hex)\nsize "), "\(path): \(text)")
            let stored = try #require(hosted.lfsServer?.storedObject(hex), "\(hex) not on the LFS server")
            #expect(sha256Hex(stored) == hex)
        }
        // Every object of the registry's history together is a few KB: the push carried no model bytes.
        let sizes = fixture.git(["rev-list", "--objects", "--all"]).split(separator: "\n").map { String($0.prefix(40)) }
        let total = sizes.reduce(0) { $0 + (Int(fixture.git(["cat-file", "-s", $1])) ?? 0) }
        #expect(total < 16_384, "\(total) bytes in git")
        #expect(gitCLI(["fsck", "--strict", "--no-dangling"], in: fixture.registry).status == 0)

        let pulled = try hosted.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 4)
        #expect(pulled.json["manifest"] as? String == published.json["manifest"] as? String)
        #expect(hosted.sandbox.read("client/models/set/large.bin") == large)
        #expect(hosted.sandbox.read("client/models/set/file2.bin") == pseudoRandomBytes(count: 20_002, seed: 3))

        // Publishing again with one more file uploads only that one.
        hosted.sandbox.write("publisher/models/set/more.bin", pseudoRandomBytes(count: 5_000, seed: 7))
        let second = try hosted.publish()
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.json["new_objects"] as? Int == 1)
        #expect(hosted.lfsServer?.storedObjects.count == 5)
        let again = try hosted.pull()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json["fetched_objects"] as? Int == 1)
        for result in [published, pulled, second, again] {
            #expect(!result.stdout.contains(hosted.token) && !result.stderr.contains(hosted.token))
        }
        for directory in ["publisher/repo/.git", "client/repo", "publisher/store", "client/store"] {
            #expect(files(under: hosted.sandbox.path + "/" + directory, containing: hosted.token) == [], "\(directory)")
        }
        withExtendedLifetime(hosted) {}
    }
}

/// The lowercase hex SHA-256 of `data`, from `sha256sum`.
func sha256Hex(_ data: Data) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try? process.run()
    input.fileHandleForWriting.write(data)
    try? input.fileHandleForWriting.close()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: printed, as: UTF8.self).prefix(64))
}
