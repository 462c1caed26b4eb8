import Foundation
import Testing
@testable import ModelSyncKit
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures/git/http_backend_server.py: a registry behind Basic authentication that logs every request it
/// receives to `<root>/requests.log`; stopped with SIGKILL.
private final class TokenRegistryServer {
    private let process = Process()
    let port: Int

    init(root: String, token: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/git/http_backend_server.py").path
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--root", root]
        var environment = ProcessInfo.processInfo.environment
        environment["REGISTRY_SERVER_TOKEN"] = token
        process.environment = environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard let port = readPortLine(output.fileHandleForReading.fileDescriptor) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw LoopbackHTTPServer.ServerError(message: "http_backend_server.py did not print its port")
        }
        self.port = port
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("git over HTTP: the token never follows a redirect to another origin")
struct GitRedirectTests {
    static let token = "git-redirect-s3cret"

    func config(_ directory: HTTPTestDirectory, url: String) -> Config {
        var config = Config()
        config.repoDir = directory.path + "/client-repo"
        config.repoURL = url
        config.git.tokenEnv = "REGISTRY_TOKEN"
        return config
    }

    @Test("a clone or a fetch whose remote redirects to another port or to localhost is refused; nothing reaches it",
          arguments: ["to-port", "to-localhost"])
    func redirectedRemote(_ route: String) throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let registry = try TokenRegistryServer(root: directory.path, token: Self.token)
        let redirector = try LoopbackHTTPServer()
        let url = "\(redirector.baseURL)/\(route)-\(registry.port)/registry.git"
        let environment = ["REGISTRY_TOKEN": Self.token]
        let host = route == "to-port" ? "127.0.0.1" : "localhost"

        let clone = #expect(throws: RemoteRedirectError.self) {
            _ = try GitRegistry.open(config: config(directory, url: url), environment: environment, worktree: false)
        }
        #expect(clone?.category == .remote)
        #expect(clone?.message == "the git remote \(url) redirects to http://\(host):\(registry.port), another origin; "
                + "the token (git.token_env) is sent only to the remote's own scheme, host and port")
        #expect(clone?.hint?.contains("set repo_url to http://\(host):\(registry.port)/registry.git") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/client-repo"))

        let existing = try Repository.create(at: directory.path + "/client-repo", bare: true, initialBranch: "main")
        try existing.addRemote(named: "origin", url: url)
        let registryHandle = try GitRegistry.open(config: config(directory, url: url), environment: environment, worktree: false)
        #expect(throws: RemoteRedirectError.self) { try registryHandle.synchronize() }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/requests.log"))
    }

    @Test("a plain http:// remote on another machine is refused (exit 2) unless git.allow_insecure_http")
    func insecureRemote() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let url = "http://192.0.2.9/registry.git"
        let error = #expect(throws: UsageError.self) {
            _ = try GitRegistry.open(config: config(directory, url: url), environment: ["REGISTRY_TOKEN": Self.token], worktree: false)
        }
        #expect(error?.message == "the git remote \(url) is plain http:// to 192.0.2.9: the registry (and any token) would travel unencrypted")
        #expect(error?.hint == "use an https:// URL, or set model_sync.git.allow_insecure_http: true")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/client-repo"))
        #expect(throws: Never.self) {
            try RemoteRedirectProbe().check(remote: url, service: "git-upload-pack", credentials: GitCredentials(),
                                            repository: "/r", allowInsecureHTTP: true)
        }
        for accepted in ["http://127.0.0.1:9/r.git", "https://git.example/r.git", "ssh://git@host/r.git", "/srv/registry.git"] {
            #expect(throws: Never.self) {
                try RemoteRedirectProbe().check(remote: accepted, service: "git-upload-pack", credentials: GitCredentials(),
                                                repository: "/r")
            }
        }
    }

    @Test("a git.ssh_key that is a FIFO or a device is refused with exit 2")
    func sshKeyMustBeRegular() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let fifo = directory.path + "/id_ed25519"
        #expect(mkfifo(fifo, 0o600) == 0)
        for key in [fifo, "/dev/zero"] {
            var config = config(directory, url: "ssh://git@127.0.0.1:1/registry.git")
            config.git.tokenEnv = nil
            config.git.sshKey = key
            let error = #expect(throws: UsageError.self) { _ = try GitRegistry.open(config: config, environment: [:]) }
            #expect(error?.message == "git.ssh_key \(key) is not a regular file")
        }
    }

    @Test("without a token nothing is probed: a redirect costs no extra request")
    func noTokenNoProbe() throws {
        let probe = RemoteRedirectProbe()
        #expect(throws: Never.self) {
            try probe.check(remote: "http://127.0.0.1:1/registry.git", service: "git-upload-pack",
                            credentials: GitCredentials(), repository: "/r")
        }
    }
}
