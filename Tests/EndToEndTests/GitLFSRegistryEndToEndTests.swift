#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A registry served by `git http-backend` (Fixtures/git/http_backend_server.py) whose pre-receive hook refuses
/// blobs over `limit` bytes with GitHub-like messages; `publisher.yaml` and `client.yaml` name it with
/// `git.token_env: REGISTRY_TOKEN` and `extraGit` (more `git:` keys).
///
/// With `lfs`, giftless runs beside it (``GiftlessServer``) and both configurations name it in `git.lfs_url`
/// with its JWT as the token (user `_jwt`), which the git server requires too.
struct HostedRegistryFixture {
    let fixture: RegistryFixture
    let server: AuthenticatedHTTPRegistry
    let lfsServer: GiftlessServer?
    let url: String
    let token: String
    static let limit = 30_000

    init(files: Int = 3, lfs: Bool = false, extraGit: String = "", maxPushBytes: Int? = nil) throws {
        fixture = RegistryFixture(files: files)
        var extraGit = extraGit
        var user: String?
        if lfs {
            let lfsServer = try GiftlessServer(directory: fixture.sandbox.path, repository: "org/models")
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
        server = try AuthenticatedHTTPRegistry(root: fixture.sandbox.path, token: token, user: user, maxPushBytes: maxPushBytes)
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
        // As long as its own pointer (128 bytes), and an empty file, which stays an empty git blob.
        let twin = pseudoRandomBytes(count: 128, seed: 43)
        hosted.sandbox.write("publisher/models/set/twin.cfg", twin)
        hosted.sandbox.write("publisher/models/set/empty", [])
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 6)
        #expect(published.json["new_bytes"] as? Int == large.count + 128 + 20_000 + 20_001 + 20_002)

        // The registry: pointers under objects/, the .gitattributes git-lfs writes, the bytes on the LFS server.
        let fixture = hosted.fixture
        #expect(fixture.git(["show", "main:.gitattributes"]) == "models/objects/sha256/** filter=lfs diff=lfs merge=lfs -text")
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        #expect(fixture.git(["cat-file", "-s", "main:models/objects/sha256/e3/\(empty)"]) == "0")
        let objects = Self.treeObjects(fixture).filter { !$0.path.hasSuffix(empty) }
        #expect(objects.count == 5)
        for (path, text) in objects {
            let hex = String(path.split(separator: "/").last!)
            #expect(text.hasPrefix("version https://git-lfs.github.com/spec/v1\noid sha256:\(hex)\nsize "), "\(path): \(text)")
            let stored = try #require(hosted.lfsServer?.storedObject(hex), "\(hex) not on the LFS server")
            #expect(sha256Hex(Data(stored)) == hex)
        }
        // Every object of the registry's history together is a few KB: the push carried no model bytes.
        let sizes = fixture.git(["rev-list", "--objects", "--all"]).split(separator: "\n").map { String($0.prefix(40)) }
        let total = sizes.reduce(0) { $0 + (Int(fixture.git(["cat-file", "-s", $1])) ?? 0) }
        #expect(total < 16_384, "\(total) bytes in git")
        #expect(gitCLI(["fsck", "--strict", "--no-dangling"], in: fixture.registry).status == 0)

        let pulled = try hosted.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 6)
        #expect(pulled.json["manifest"] as? String == published.json["manifest"] as? String)
        #expect(hosted.sandbox.read("client/models/set/large.bin") == large)
        #expect(hosted.sandbox.read("client/models/set/twin.cfg") == twin)
        #expect(hosted.sandbox.read("client/models/set/empty") == [])
        // The objects linked in from the download folder are ordinary store objects; the folder is gone.
        let checked = try hosted.run("fsck", config: "client.yaml")
        #expect(checked.status == 0 && checked.json["ok"] as? Bool == true, "\(checked.stdout)\(checked.stderr)")
        let incoming = (try? FileManager.default.contentsOfDirectory(atPath: hosted.sandbox.path + "/client/store/incoming")) ?? []
        #expect(incoming.isEmpty, "\(incoming)")
        #expect(hosted.sandbox.read("client/models/set/file2.bin") == pseudoRandomBytes(count: 20_002, seed: 3))

        // Publishing again with one more file uploads only that one.
        hosted.sandbox.write("publisher/models/set/more.bin", pseudoRandomBytes(count: 5_000, seed: 7))
        let second = try hosted.publish()
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.json["new_objects"] as? Int == 1)
        #expect(hosted.lfsServer?.storedObjects.count == 6)
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

    @Test("through Git LFS, large objects are uploaded while the import hashes the rest: each sent once, counted once")
    func largeObjectsUploadEarlyThroughLFS() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let server = try #require(hosted.lfsServer)
        let large = pseudoRandomBytes(count: 3 << 20, seed: 21)
        let other = pseudoRandomBytes(count: (2 << 20) + 5, seed: 22)
        hosted.sandbox.write("publisher/models/set/large.bin", large)
        hosted.sandbox.write("publisher/models/set/other.bin", other)
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 5)
        #expect(published.json["new_bytes"] as? Int == large.count + other.count + 20_000 + 20_001 + 20_002)

        let largeOIDs = [large, other].map { sha256Hex(Data($0)) }
        let smallOIDs = (0..<3).map { sha256Hex(Data(pseudoRandomBytes(count: 20_000 + $0, seed: UInt64($0 + 1)))) }
        // The server saw each object's bytes once: the engine's batch found the early ones present.
        for oid in largeOIDs + smallOIDs {
            #expect(server.uploads(of: oid).count == 1, "\(oid): \(server.uploads(of: oid).count) uploads")
        }
        // The large ones were done before the engine's turn began: before the small ones (which only the engine
        // sends) even started.
        let largeEnded = largeOIDs.compactMap { server.uploads(of: $0).first?.ended }.max() ?? .infinity
        let smallStarted = smallOIDs.compactMap { server.uploads(of: $0).first?.started }.min() ?? 0
        #expect(largeEnded < smallStarted, "large uploads ended at \(largeEnded), small ones started at \(smallStarted)")

        let pulled = try hosted.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(hosted.sandbox.read("client/models/set/large.bin") == large)
        // Nothing new: nothing uploaded, early or not.
        let again = try hosted.publish()
        #expect(again.json["result"] as? String == "up-to-date", "\(again.stdout)")
        #expect(again.json["new_objects"] as? Int == 0)
        for oid in largeOIDs { #expect(server.uploads(of: oid).count == 1) }
        withExtendedLifetime(hosted) {}
    }

    /// `git lfs …` in `directory` with the LFS server's URL (credentials in it, as git-lfs takes them).
    static func gitLFS(_ arguments: [String], in directory: String, hosted: HostedRegistryFixture) -> (status: Int32, output: String) {
        let server = hosted.lfsServer!
        let url = "http://_jwt:\(server.token)@127.0.0.1:\(server.port)/\(server.repository)"
        return gitCLI(["-c", "lfs.url=\(url)"] + arguments, in: directory)
    }

    @Test("a git clone of the registry and `git lfs pull` materialize every object, each named by its sha256sum")
    func gitLFSReadsWhatWasPublished() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        hosted.sandbox.write("publisher/models/set/large.bin", pseudoRandomBytes(count: 2 * HostedRegistryFixture.limit, seed: 5))
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")

        #expect(gitCLI(["clone", "-q", "registry.git", "lfs-clone"], in: hosted.sandbox.path).status == 0)
        let clone = hosted.sandbox.path + "/lfs-clone"
        #expect(gitCLI(["lfs", "install", "--local"], in: clone).status == 0)
        let pulled = Self.gitLFS(["lfs", "pull"], in: clone, hosted: hosted)
        #expect(pulled.status == 0, "\(pulled.output)")
        let root = clone + "/models/objects/sha256"
        var checked = 0
        for fanout in try FileManager.default.contentsOfDirectory(atPath: root) {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + fanout) {
                let bytes = try #require(FileManager.default.contents(atPath: root + "/" + fanout + "/" + name))
                #expect(sha256Hex(bytes) == name, "\(name) holds \(bytes.count) bytes that hash elsewhere")
                #expect(name.hasPrefix(fanout))
                checked += 1
            }
        }
        #expect(checked == 4)
        #expect(gitCLI(["status", "--porcelain"], in: clone).output == "")
        withExtendedLifetime(hosted) {}
    }

    @Test("a registry commit written with git and the git-lfs CLI is pulled by model-sync")
    func pullsWhatGitLFSPushed() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let sandbox = hosted.sandbox
        let large = pseudoRandomBytes(count: 2 * HostedRegistryFixture.limit, seed: 11)
        let small = pseudoRandomBytes(count: 100, seed: 12)
        sandbox.write("handmade/set/large.bin", large)
        sandbox.write("handmade/set/small.bin", small)
        // The canonical manifest, from model-sync itself, in a store of its own.
        let imported = try sandbox.cli.run(["import", "handmade", "--store", "handmade-store", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let manifest = try #require((imported.json["manifest"] as? String)?.dropFirst("sha256:".count)).description

        #expect(gitCLI(["clone", "-q", "registry.git", "writer"], in: sandbox.path).status == 0)
        let writer = sandbox.path + "/writer"
        #expect(gitCLI(["lfs", "install", "--local"], in: writer).status == 0)
        #expect(gitCLI(["lfs", "track", "models/objects/sha256/**"], in: writer).status == 0)
        // What git-lfs writes is, byte for byte, what model-sync writes.
        #expect(sandbox.read("writer/.gitattributes") == Array("models/objects/sha256/** filter=lfs diff=lfs merge=lfs -text\n".utf8))
        for bytes in [large, small] {
            let hex = sha256Hex(Data(bytes))
            sandbox.write("writer/models/objects/sha256/\(hex.prefix(2))/\(hex)", bytes)
        }
        sandbox.write("writer/models/manifests/sha256/\(manifest).json",
                      sandbox.read("handmade-store/objects/sha256/\(manifest.prefix(2))/\(manifest)"))
        sandbox.write("writer/models/channels/latest", Array("sha256:\(manifest)\n".utf8))
        #expect(gitCLI(["add", "-A"], in: writer).status == 0)
        #expect(gitCLI(["commit", "-q", "-m", "handmade"], in: writer).status == 0)
        let pushed = Self.gitLFS(["push", "-q", "origin", "main"], in: writer, hosted: hosted)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(hosted.lfsServer?.storedObjects.count == 2)

        let pulled = try hosted.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["manifest"] as? String == "sha256:" + manifest)
        #expect(pulled.json["fetched_objects"] as? Int == 2)
        #expect(sandbox.read("client/models/set/large.bin") == large)
        #expect(sandbox.read("client/models/set/small.bin") == small)
        withExtendedLifetime(hosted) {}
    }

    @Test("a pointer that names another object than the manifest lists is refused (exit 3) before anything is written")
    func hostilePointer() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let sandbox = hosted.sandbox
        #expect(try hosted.publish().status == 0)
        let first = try hosted.pull()
        #expect(first.status == 0, "\(first.stderr)")

        let added = pseudoRandomBytes(count: 4_000, seed: 21)
        sandbox.write("publisher/models/set/new.bin", added)
        #expect(try hosted.publish().status == 0)
        // Someone with push access swaps new.bin's pointer for one naming file0.bin's object.
        let hex = sha256Hex(Data(added))
        let other = sha256Hex(Data(pseudoRandomBytes(count: 20_000, seed: 1)))
        #expect(gitCLI(["clone", "-q", "registry.git", "tamper"], in: sandbox.path).status == 0)
        sandbox.write("tamper/models/objects/sha256/\(hex.prefix(2))/\(hex)",
                      Array("version https://git-lfs.github.com/spec/v1\noid sha256:\(other)\nsize 20000\n".utf8))
        #expect(gitCLI(["commit", "-q", "-am", "swap a pointer"], in: sandbox.path + "/tamper").status == 0)
        #expect(gitCLI(["push", "-q", "origin", "main"], in: sandbox.path + "/tamper").status == 0)

        let storeObjects = { (FileManager.default.subpaths(atPath: sandbox.path + "/client/store/objects") ?? []).sorted() }
        let objectsBefore = storeObjects()
        #expect(objectsBefore.count > 3)
        let refused = try hosted.pull()
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("is a Git LFS pointer to sha256:\(other) (20000 bytes), but the manifest lists "
                                        + "sha256:\(hex) (4000 bytes) for set/new.bin"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/client/models/set/new.bin"))
        #expect(sandbox.read("client/models/set/file0.bin") == pseudoRandomBytes(count: 20_000, seed: 1))
        #expect(storeObjects() == objectsBefore)
        withExtendedLifetime(hosted) {}
    }

    @Test("gc --registry drops the pointers of objects no kept manifest references")
    func registryGCDropsPointers() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let sandbox = hosted.sandbox
        sandbox.write("publisher/models/set/old.bin", pseudoRandomBytes(count: 3_000, seed: 31))
        #expect(try hosted.publish().status == 0)
        try FileManager.default.removeItem(atPath: sandbox.path + "/publisher/models/set/old.bin")
        #expect(try hosted.publish().status == 0)
        let old = sha256Hex(Data(pseudoRandomBytes(count: 3_000, seed: 31)))
        #expect(Self.treeObjects(hosted.fixture).contains { $0.path.hasSuffix(old) })

        var cli = sandbox.cli
        cli.environment["REGISTRY_TOKEN"] = hosted.token
        sandbox.write("gc.yaml", String(decoding: sandbox.read("publisher.yaml"), as: UTF8.self)
                      + "  registry:\n    keep_manifests: 1\n")
        let collected = try cli.run(["gc", "--registry", "--config", "gc.yaml", "--json"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(collected.json["objects_removed"] as? Int == 1, "\(collected.stdout)")
        let left = Self.treeObjects(hosted.fixture)
        #expect(left.count == 3 && !left.contains { $0.path.hasSuffix(old) })
        #expect(left.allSatisfy { $0.bytes.hasPrefix("version https://git-lfs.github.com/spec/v1") })
        // The kept set still pulls.
        let pulled = try hosted.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        withExtendedLifetime(hosted) {}
    }

    @Test("git.lfs auto is off for a path remote; true there without lfs_url is exit 2")
    func autoOffForPaths() throws {
        let fixture = RegistryFixture(files: 2)
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(gitCLI(["cat-file", "-e", "main:.gitattributes"], in: fixture.registry).status != 0)
        let listing = fixture.git(["ls-tree", "-r", "-l", "main", "models/objects"])
        #expect(listing.contains(" 20000\t") && listing.contains(" 20001\t"), "\(listing)")

        fixture.sandbox.write("forced.yaml", String(decoding: fixture.sandbox.read("publisher.yaml"), as: UTF8.self)
                              .replacingOccurrences(of: "  git:\n", with: "  git:\n    lfs: true\n"))
        fixture.sandbox.write("publisher/models/set/extra.bin", Array("more".utf8))
        let forced = try fixture.sandbox.cli.run(["publish", "--config", "forced.yaml"])
        #expect(forced.status == 2, "\(forced.stderr)")
        #expect(forced.stderr.contains("git.lfs is true but the registry remote"), "\(forced.stderr)")
        #expect(forced.stderr.contains("set model_sync.git.lfs_url"), "\(forced.stderr)")
    }

    @Test("over SSH, git-lfs-authenticate gives the LFS endpoint and its header; publish and pull go through it")
    func sshGitLFSAuthenticate() throws {
        let fixture = RegistryFixture(files: 2)
        let sandbox = fixture.sandbox
        let lfsServer = try GiftlessServer(directory: sandbox.path, repository: "org/models")
        try keygen(sandbox.path + "/keys/client")
        // What a forge's sshd answers: the LFS endpoint and a header for it (here giftless and its JWT).
        let header = Data("_jwt:\(lfsServer.token)".utf8).base64EncodedString()
        let authenticate = sandbox.write("ssh/git-lfs-authenticate", Array("""
            #!/bin/sh
            echo "$@" >> '\(sandbox.path)/ssh/authenticate.log'
            printf '{"href": "%s", "header": {"Authorization": "Basic %s"}, "expires_in": 3600}\\n' '\(lfsServer.url)' '\(header)'

            """.utf8), mode: 0o755)
        let dispatch = sandbox.write("ssh/dispatch", Array("""
            #!/bin/sh
            case "$SSH_ORIGINAL_COMMAND" in
              "git-lfs-authenticate "*) exec '\(authenticate)' ${SSH_ORIGINAL_COMMAND#git-lfs-authenticate } ;;
            esac
            exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"

            """.utf8), mode: 0o755)
        let server = try LoopbackSSHServer(sandbox: sandbox, authorizedKey: String(decoding: sandbox.read("keys/client.pub"), as: UTF8.self),
                                           extraConfig: "ForceCommand \(dispatch)\n")
        let url = "ssh://\(server.user)@127.0.0.1:\(server.port)\(fixture.registry)"
        sandbox.write("home/.ssh/known_hosts", Array("[127.0.0.1]:\(server.port) \(server.hostKey)\n".utf8))
        fixture.git(["remote", "set-url", "origin", url], in: "publisher/repo")
        let git = """
              git:
                ssh_key: \(sandbox.path)/keys/client
                author_name: Publisher
                author_email: publisher@example.invalid
            """
        sandbox.write("publisher.yaml", "model_sync:\n  models_dir: publisher/models\n  store_dir: publisher/store\n"
                      + "  repo_dir: publisher/repo\n\(git)\n")
        sandbox.write("client.yaml", "model_sync:\n  models_dir: client/models\n  store_dir: client/store\n"
                      + "  repo_dir: client/repo\n  repo_url: \"\(url)\"\n\(git)\n")
        var cli = sandbox.cli
        cli.environment["HOME"] = sandbox.path + "/home"
        cli.environment["SSH_AUTH_SOCK"] = ""
        // OpenSSH reads known_hosts from the account's home, not $HOME: git's own variable points it here.
        cli.environment["GIT_SSH_COMMAND"] = "ssh -o UserKnownHostsFile=\(sandbox.path)/home/.ssh/known_hosts"

        let published = try cli.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 2)
        #expect(lfsServer.storedObjects.count == 2)
        #expect(Self.treeObjects(fixture).allSatisfy { $0.bytes.hasPrefix("version https://git-lfs.github.com/spec/v1") })

        let pulled = try cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 2)
        #expect(sandbox.read("client/models/set/file1.bin") == pseudoRandomBytes(count: 20_001, seed: 2))
        // The path as git-lfs passes it for an ssh:// URL (leading slash kept), and each operation.
        let log = String(decoding: sandbox.read("ssh/authenticate.log"), as: UTF8.self)
        #expect(log.contains("\(fixture.registry) upload\n"), "\(log)")
        #expect(log.contains("\(fixture.registry) download\n"), "\(log)")
        withExtendedLifetime((server, lfsServer)) {}
    }

    @Test("a set the LFS server cannot complete is refused before any object is downloaded")
    func serverLacksAnObject() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        let published = try hosted.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let lfsServer = try #require(hosted.lfsServer)
        let gone = try #require(lfsServer.storedObjects.last)
        try FileManager.default.removeItem(atPath: lfsServer.objectPath(gone))

        let refused = try hosted.pull()
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains(gone), "\(refused.stderr)")
        let stored = FileManager.default.subpaths(atPath: hosted.sandbox.path + "/client/store/objects") ?? []
        #expect(!stored.contains { $0.count > 64 }, "\(stored)")
        #expect(!FileManager.default.fileExists(atPath: hosted.sandbox.path + "/client/models"))
        withExtendedLifetime(hosted) {}
    }

    @Test("a push refused with HTTP 413 says the host found it too large and hints at Git LFS; through LFS it passes")
    func pushTooLarge() throws {
        let refusing = try HostedRegistryFixture(maxPushBytes: 20_000)
        refusing.sandbox.write("publisher/models/set/large.bin", pseudoRandomBytes(count: 10_000, seed: 77))
        let refused = try refusing.publish()
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("unexpected http status code: 413 (the host refused the push as too large)"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("model_sync.git.lfs: true"), "\(refused.stderr)")

        let through = try HostedRegistryFixture(lfs: true, maxPushBytes: 20_000)
        through.sandbox.write("publisher/models/set/large.bin", pseudoRandomBytes(count: 10_000, seed: 77))
        let published = try through.publish()
        #expect(published.status == 0, "\(published.stderr)")
        withExtendedLifetime((refusing, through)) {}
    }

    @Test("an LFS server that serves other bytes than the oid names fails the pull with exit 3; nothing is stored")
    func serverSendsWrongBytes() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        #expect(try hosted.publish().status == 0)
        let lfsServer = try #require(hosted.lfsServer)
        let target = 20_001
        let hex = sha256Hex(Data(pseudoRandomBytes(count: target, seed: 2)))
        let stored = lfsServer.objectPath(hex)
        try FileManager.default.removeItem(atPath: stored)
        try Data(pseudoRandomBytes(count: target, seed: 999)).write(to: URL(fileURLWithPath: stored))

        let refused = try hosted.pull()
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("Git LFS object sha256:\(hex) of registry pointer models/objects/sha256/"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("(set/file1.bin)"), "\(refused.stderr)")
        let objects = FileManager.default.subpaths(atPath: hosted.sandbox.path + "/client/store/objects") ?? []
        #expect(!objects.contains { $0.hasSuffix(hex) }, "\(objects)")
        #expect(!FileManager.default.fileExists(atPath: hosted.sandbox.path + "/client/models"))
        withExtendedLifetime(hosted) {}
    }

    @Test("the objects a failed LFS pull verified are kept: the retry downloads only the rest")
    func failedPullKeepsVerifiedObjects() throws {
        // One transfer at a time, largest first: file2 and file1 arrive before the bad file0.
        let hosted = try HostedRegistryFixture(lfs: true, extraGit: "    lfs_concurrency: 1\n")
        #expect(try hosted.publish().status == 0)
        let lfsServer = try #require(hosted.lfsServer)
        let good = pseudoRandomBytes(count: 20_000, seed: 1)
        let hex = sha256Hex(Data(good))
        let stored = lfsServer.objectPath(hex)
        try Data(pseudoRandomBytes(count: 20_000, seed: 998)).write(to: URL(fileURLWithPath: stored))

        let refused = try hosted.pull()
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: hosted.sandbox.path + "/client/models"))
        let objects = FileManager.default.subpaths(atPath: hosted.sandbox.path + "/client/store/objects") ?? []
        for kept in [(20_001, 2), (20_002, 3)] {
            let keptHex = sha256Hex(Data(pseudoRandomBytes(count: kept.0, seed: UInt64(kept.1))))
            #expect(objects.contains { $0.hasSuffix(keptHex) }, "\(objects)")
        }
        #expect(!objects.contains { $0.hasSuffix(hex) }, "\(objects)")
        #expect(try hosted.run("fsck", config: "client.yaml").status == 0)

        try Data(good).write(to: URL(fileURLWithPath: stored))
        let retried = try hosted.pull()
        #expect(retried.status == 0, "\(retried.stdout)\(retried.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(retried.stdout.utf8)) as? [String: Any]
        #expect(json?["fetched_objects"] as? Int == 1, "\(retried.stdout)")
        #expect(hosted.sandbox.read("client/models/set/file0.bin") == good)
        withExtendedLifetime(hosted) {}
    }

    @Test("a push of pointers the host still refuses shows its message, with a hint that the blobs went through LFS")
    func refusalWithLFS() throws {
        let hosted = try HostedRegistryFixture(lfs: true)
        // A host whose rule refuses even pointer files.
        hosted.fixture.git(["config", "hooks.maxblobbytes", "50"])
        let refused = try hosted.publish()
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("remote: error: GH001: Large files detected."), "\(refused.stderr)")
        #expect(refused.stderr.contains("the blobs went through Git LFS and the commit holds only pointers"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(hosted.token))
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
