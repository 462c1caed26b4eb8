#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Fixtures/git/http_backend_server.py on 127.0.0.1: `git http-backend` behind Basic authentication with the
/// token `x-access-token:<token>` (or `<user>:<token>`), its git-upload-pack slowed by `slowUploadPack` seconds when given; stopped
/// with SIGKILL.
final class AuthenticatedHTTPRegistry {
    private let process = Process()
    let port: Int

    init(root: String, token: String, slowUploadPack: Double? = nil, user: String? = nil, maxPushBytes: Int? = nil) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.packageRoot + "/Fixtures/git/http_backend_server.py", "--root", root]
            + (slowUploadPack.map { ["--slow-upload-pack", String($0)] } ?? []) + (user.map { ["--user", $0] } ?? [])
            + (maxPushBytes.map { ["--max-push-bytes", String($0)] } ?? [])
        var environment = ProcessInfo.processInfo.environment
        environment["REGISTRY_SERVER_TOKEN"] = token
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        process.environment = environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try readPort(from: output, process: process, name: "http_backend_server.py")
    }

    deinit { stop(process) }
}

/// Reads the first line a child prints (at most 10 s) as a port; SIGKILLs the child when none comes.
func readPort(from pipe: Pipe, process: Process, name: String) throws -> Int {
    guard let port = readPortLine(pipe.fileHandleForReading.fileDescriptor) else {
        stop(process)
        throw CLIError.timedOut([name])
    }
    return port
}

/// Paths of the regular files under `directory` (recursively) whose bytes contain `needle`.
func files(under directory: String, containing needle: String) -> [String] {
    let bytes = Data(needle.utf8)
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
    var found: [String] = []
    for case let relative as String in walker {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path) else { continue }
        if data.range(of: bytes) != nil { found.append(relative) }
    }
    return found
}

/// `sshd -D -e` on 127.0.0.1 with its own configuration, host key and authorized keys in the sandbox's `ssh/`;
/// stopped with SIGKILL. Run as root, sshd insists on its privilege separation directory `/run/sshd`: when
/// that is missing it runs in a private mount namespace with a tmpfs over `/run`, so nothing outside changes.
final class LoopbackSSHServer {
    private let process = Process()
    let port: UInt16
    let user: String
    /// The `<type> <base64>` of the server's host key, as known_hosts lists it.
    let hostKey: String

    init(sandbox: Sandbox, authorizedKey: String, extraConfig: String = "") throws {
        let directory = sandbox.path + "/ssh"
        try keygen(directory + "/host_key")
        hostKey = try String(contentsOfFile: directory + "/host_key.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        sandbox.write("ssh/authorized_keys", Array(authorizedKey.utf8))
        port = try freePort()
        user = String(cString: getpwuid(getuid()).pointee.pw_name)
        let config = sandbox.write("ssh/sshd_config", Array("""
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PidFile none
            StrictModes no
            UsePAM no
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            \(extraConfig)
            """.utf8))
        // sshd closes every inherited descriptor, including the one Foundation's Process watches to learn that
        // a child exited (it would then block in waitpid on a running sshd): a shell stays its parent instead,
        // and the test kills sshd by the pid the shell writes, then the shell.
        let sshd = "/usr/sbin/sshd -D -e -f '\(config)'"
        let launch = getuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd")
            ? "unshare -m --propagation private sh -c \"mount -t tmpfs none /run && mkdir -m 755 /run/sshd && exec \(sshd)\""
            : "exec " + sshd
        pidFile = directory + "/sshd.pid"
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(launch) 2>'\(directory)/sshd.log' & echo $! >'\(pidFile)'; wait"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitForPort(port)
    }

    private let pidFile: String

    deinit {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
        stop(process)
    }
}

/// `ssh-keygen` of an ed25519 key without passphrase at `path` (and `path.pub`).
func keygen(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "model-sync test", "-f", path]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CLIError.timedOut(["ssh-keygen", path]) }
}

@Suite("git credentials against real authenticated remotes on 127.0.0.1", .serialized)
struct GitCredentialsEndToEndTests {
    static let token = "ghp-test-7d1f0c2a9b8e4f61"

    /// A registry served over smart HTTP with Basic authentication; `publisher.yaml` and `client.yaml` name
    /// `git.token_env: REGISTRY_TOKEN`.
    private func httpFixture() throws -> (RegistryFixture, AuthenticatedHTTPRegistry, String) {
        let fixture = RegistryFixture(files: 3)
        fixture.git(["config", "http.receivepack", "true"])
        let server = try AuthenticatedHTTPRegistry(root: fixture.sandbox.path, token: Self.token)
        let url = "http://127.0.0.1:\(server.port)/registry.git"
        fixture.git(["remote", "set-url", "origin", url], in: "publisher/repo")
        fixture.sandbox.write("publisher.yaml", Array("""
            model_sync:
              models_dir: publisher/models
              store_dir: publisher/store
              repo_dir: publisher/repo
              git:
                token_env: REGISTRY_TOKEN
                author_name: Publisher
                author_email: publisher@example.invalid

            """.utf8))
        fixture.sandbox.write("client.yaml", Array("""
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "\(url)"
              git:
                token_env: REGISTRY_TOKEN

            """.utf8))
        return (fixture, server, url)
    }

    private func run(_ fixture: RegistryFixture, _ command: String, config: String, token: String?) throws -> CLI.Result {
        var cli = fixture.sandbox.cli
        cli.environment["REGISTRY_TOKEN"] = token
        return try cli.run([command, "--config", config, "--json"])
    }

    @Test("publish and pull over smart HTTP with the token from git.token_env; it is written nowhere")
    func httpTokenPublishAndPull() throws {
        let (fixture, server, _) = try httpFixture()
        let published = try run(fixture, "publish", config: "publisher.yaml", token: Self.token)
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["result"] as? String == "published")
        #expect(published.json["new_objects"] as? Int == 3)
        #expect(fixture.git(["rev-parse", "main"]) == published.json["commit"] as? String)

        let pulled = try run(fixture, "pull", config: "client.yaml", token: Self.token)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(pulled.json["manifest"] as? String == published.json["manifest"] as? String)
        #expect(pulled.json["fetched_objects"] as? Int == 3)
        #expect(fixture.sandbox.read("client/models/set/file2.bin") == pseudoRandomBytes(count: 20_002, seed: 3))

        // The server did ask for credentials, and got them.
        let requests = (try? String(contentsOfFile: fixture.sandbox.path + "/requests.log", encoding: .utf8)) ?? ""
        #expect(requests.contains("401 /registry.git/info/refs?service=git-receive-pack"))
        #expect(requests.contains("200 /registry.git/git-receive-pack"))
        #expect(requests.contains("200 /registry.git/git-upload-pack"))

        for result in [published, pulled] {
            #expect(!result.stdout.contains(Self.token) && !result.stderr.contains(Self.token))
        }
        #expect(!fixture.git(["config", "--list"], in: "publisher/repo").contains(Self.token))
        #expect(!fixture.git(["config", "--list"], in: "client/repo").contains(Self.token))
        for directory in ["publisher/repo/.git", "client/repo", "publisher/store", "client/store", "client/models"] {
            #expect(files(under: fixture.sandbox.path + "/" + directory, containing: Self.token) == [], "\(directory)")
        }
        withExtendedLifetime(server) {}
    }

    @Test("a wrong token fails with exit 4 without echoing it; an unset token_env variable is exit 2")
    func httpWrongOrMissingToken() throws {
        let (fixture, server, url) = try httpFixture()
        let wrong = "wrong-token-5a5a5a5a"
        let refused = try run(fixture, "publish", config: "publisher.yaml", token: wrong)
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("push to origin (\(url))") || refused.stderr.contains("fetch from origin (\(url))"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("the remote refused the credentials"), "\(refused.stderr)")
        #expect(!refused.stdout.contains(wrong) && !refused.stderr.contains(wrong))
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0)

        let clientRefused = try run(fixture, "pull", config: "client.yaml", token: wrong)
        #expect(clientRefused.status == 4, "\(clientRefused.stdout)\(clientRefused.stderr)")
        #expect(clientRefused.stderr.contains("clone \(url)"), "\(clientRefused.stderr)")
        #expect(!clientRefused.stdout.contains(wrong) && !clientRefused.stderr.contains(wrong))

        let unset = try run(fixture, "publish", config: "publisher.yaml", token: nil)
        #expect(unset.status == 2)
        #expect(unset.stderr.contains("git.token_env names REGISTRY_TOKEN, which is not set"), "\(unset.stderr)")

        // Without token_env at all, the remote's demand for credentials is a remote failure that says so.
        fixture.sandbox.write("anonymous.yaml", Array("""
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "\(url)"

            """.utf8))
        let anonymous = try run(fixture, "pull", config: "anonymous.yaml", token: nil)
        #expect(anonymous.status == 4)
        #expect(anonymous.stderr.contains("the remote asks for credentials and none are configured"), "\(anonymous.stderr)")

        for directory in ["publisher/repo/.git", "publisher/store"] {
            #expect(files(under: fixture.sandbox.path + "/" + directory, containing: wrong) == [], "\(directory)")
        }
        withExtendedLifetime(server) {}
    }

    /// A registry behind sshd; `publisher.yaml` and `client.yaml` name `git.ssh_key: <sandbox>/keys/client`,
    /// and `home/.ssh/known_hosts` (the CLI runs with HOME there) lists the server's host key.
    private func sshFixture() throws -> (RegistryFixture, LoopbackSSHServer, String) {
        let fixture = RegistryFixture(files: 3)
        try keygen(fixture.sandbox.path + "/keys/client")
        try keygen(fixture.sandbox.path + "/keys/stranger")
        let server = try LoopbackSSHServer(sandbox: fixture.sandbox,
                                           authorizedKey: String(decoding: fixture.sandbox.read("keys/client.pub"), as: UTF8.self))
        let url = "ssh://\(server.user)@127.0.0.1:\(server.port)\(fixture.registry)"
        fixture.sandbox.write("home/.ssh/known_hosts", Array("[127.0.0.1]:\(server.port) \(server.hostKey)\n".utf8))
        fixture.git(["remote", "set-url", "origin", url], in: "publisher/repo")
        writeSSHConfigs(fixture, url: url, key: "keys/client")
        return (fixture, server, url)
    }

    private func writeSSHConfigs(_ fixture: RegistryFixture, url: String, key: String) {
        fixture.sandbox.write("publisher.yaml", Array("""
            model_sync:
              models_dir: publisher/models
              store_dir: publisher/store
              repo_dir: publisher/repo
              git:
                ssh_key: \(fixture.sandbox.path)/\(key)
                author_name: Publisher
                author_email: publisher@example.invalid

            """.utf8))
        fixture.sandbox.write("client.yaml", Array("""
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "\(url)"
              git:
                ssh_key: \(fixture.sandbox.path)/\(key)

            """.utf8))
    }

    private func runSSH(_ fixture: RegistryFixture, _ command: String, config: String) throws -> CLI.Result {
        var cli = fixture.sandbox.cli
        cli.environment["HOME"] = fixture.sandbox.path + "/home"
        cli.environment["SSH_AUTH_SOCK"] = ""
        return try cli.run([command, "--config", config, "--json"])
    }

    @Test("publish and pull over SSH with git.ssh_key, the host key checked against ~/.ssh/known_hosts")
    func sshKeyPublishAndPull() throws {
        let (fixture, server, _) = try sshFixture()
        let published = try runSSH(fixture, "publish", config: "publisher.yaml")
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["result"] as? String == "published")
        #expect(published.json["new_objects"] as? Int == 3)
        #expect(fixture.git(["rev-parse", "main"]) == published.json["commit"] as? String)

        let pulled = try runSSH(fixture, "pull", config: "client.yaml")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(pulled.json["fetched_objects"] as? Int == 3)
        #expect(fixture.sandbox.read("client/models/set/file1.bin") == pseudoRandomBytes(count: 20_001, seed: 2))
        #expect(gitCLI(["fsck", "--strict", "--no-dangling"], in: fixture.registry).status == 0)
        withExtendedLifetime(server) {}
    }

    @Test("over SSH, an unknown or changed host key and a key the server does not know all fail with exit 4")
    func sshRefusals() throws {
        let (fixture, server, url) = try sshFixture()
        let known = fixture.sandbox.read("home/.ssh/known_hosts")

        try FileManager.default.removeItem(atPath: fixture.sandbox.path + "/home/.ssh/known_hosts")
        let unknown = try runSSH(fixture, "publish", config: "publisher.yaml")
        #expect(unknown.status == 4, "\(unknown.stdout)\(unknown.stderr)")
        #expect(unknown.stderr.contains("fetch from origin (\(url)): invalid or unknown remote ssh hostkey"), "\(unknown.stderr)")

        let stranger = String(decoding: fixture.sandbox.read("keys/stranger.pub"), as: UTF8.self)
            .split(separator: " ").prefix(2).joined(separator: " ")
        fixture.sandbox.write("home/.ssh/known_hosts", Array("[127.0.0.1]:\(server.port) \(stranger)\n".utf8))
        let changed = try runSSH(fixture, "pull", config: "client.yaml")
        #expect(changed.status == 4, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stderr.contains("clone \(url)"), "\(changed.stderr)")
        #expect(changed.stderr.contains("invalid or unknown remote ssh hostkey"), "\(changed.stderr)")

        fixture.sandbox.write("home/.ssh/known_hosts", known)
        writeSSHConfigs(fixture, url: url, key: "keys/stranger")
        let refused = try runSSH(fixture, "publish", config: "publisher.yaml")
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("fetch from origin (\(url)): the remote refused the credentials"), "\(refused.stderr)")
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0)
        withExtendedLifetime(server) {}
    }
}
