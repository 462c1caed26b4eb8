#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Fixtures/git/http_backend_server.py on 127.0.0.1: `git http-backend` behind Basic authentication with the
/// token `x-access-token:<token>`; stopped with SIGKILL.
private final class AuthenticatedHTTPRegistry {
    private let process = Process()
    let port: Int

    init(root: String, token: String) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.packageRoot + "/Fixtures/git/http_backend_server.py", "--root", root]
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
    var line: [UInt8] = []
    let fd = pipe.fileHandleForReading.fileDescriptor
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 100) > 0 else { continue }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") else { break }
        line.append(byte)
    }
    guard let port = Int(String(decoding: line, as: UTF8.self)) else {
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
}
