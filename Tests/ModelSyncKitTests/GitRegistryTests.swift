import Foundation
import Testing
@testable import ModelSyncKit

/// Runs the git CLI quietly with a fixed identity; returns its trimmed output.
@discardableResult
private func git(_ arguments: [String], in directory: String) throws -> String {
    let (status, output) = gitCLI(arguments, in: directory)
    guard status == 0 else { throw UsageError("git \(arguments.joined(separator: " ")) failed: \(output)") }
    return output
}

/// One publisher: its own models folder, store and clone of the shared bare registry.
private struct PublisherSide {
    let workspace: Workspace

    init(name: String, root: String, registry: String) throws {
        let base = root + "/" + name
        try git(["clone", "-q", registry, base + "/repo"], in: root)
        try FileManager.default.createDirectory(atPath: base + "/models", withIntermediateDirectories: true)
        let config = base + "/config.yaml"
        try Data("""
            model_sync:
              models_dir: \(base)/models
              store_dir: \(base)/store
              repo_dir: \(base)/repo
              git: {author_name: \(name), author_email: \(name)@example.invalid}
            """.utf8).write(to: URL(fileURLWithPath: config))
        workspace = try Workspace.resolve(configPath: config, modelsDir: nil, storeDir: nil, envFile: nil,
                                          processEnvironment: [:])
    }

    func write(_ name: String, seed: UInt64) throws {
        try Data(pseudoRandomBytes(count: 4096, seed: seed)).write(to: URL(fileURLWithPath: workspace.modelsDir + "/" + name))
    }

    func publish(beforePush: (() throws -> Void)? = nil) throws -> Publisher.Result {
        var publisher = Publisher(workspace: workspace)
        publisher.beforePush = beforePush
        return try publisher.publish()
    }
}

@Suite("the git registry: racing publishers, credentials, layout")
struct GitRegistryTests {
    private func setUp() throws -> (TemporaryDirectory, String) {
        let directory = TemporaryDirectory("git-registry")
        let registry = directory.path + "/registry.git"
        try git(["init", "-q", "--bare", "-b", "main", registry], in: directory.path)
        return (directory, registry)
    }

    @Test("a publisher whose push is rejected fetches, rebuilds its commit on the winner's and retries once")
    func raceRetriedOnce() throws {
        let (directory, registry) = try setUp()
        let alice = try PublisherSide(name: "alice", root: directory.path, registry: registry)
        let bob = try PublisherSide(name: "bob", root: directory.path, registry: registry)
        try alice.write("a.bin", seed: 1)
        try bob.write("b.bin", seed: 2)

        var aliceResult: Publisher.Result?
        let bobResult = try bob.publish(beforePush: {
            if aliceResult == nil { aliceResult = try alice.publish() }
        })
        let alicePublished = try #require(aliceResult)
        let bobCommit = try #require(bobResult.commit)
        #expect(try git(["rev-parse", "main"], in: registry) == bobCommit.hex)
        #expect(try git(["rev-parse", "main~1"], in: registry) == alicePublished.commit?.hex)
        #expect(try git(["show", "main:models/channels/latest"], in: registry) == bobResult.manifest.description)
        let files = try git(["ls-tree", "-r", "--name-only", "main"], in: registry).split(separator: "\n")
        #expect(files.filter { $0.contains("/manifests/") }.count == 2)
        #expect(files.filter { $0.contains("/objects/") }.count == 2)
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: registry).isEmpty)
        // Bob's worktree and branch follow what was pushed.
        #expect(try git(["status", "--porcelain"], in: bob.workspace.config.repoDir!).isEmpty)
        #expect(try git(["rev-parse", "HEAD"], in: bob.workspace.config.repoDir!) == bobCommit.hex)
    }

    @Test("a publisher that loses the race twice fails with a remote error and leaves its branch alone")
    func raceLostTwice() throws {
        let (directory, registry) = try setUp()
        let alice = try PublisherSide(name: "alice", root: directory.path, registry: registry)
        let bob = try PublisherSide(name: "bob", root: directory.path, registry: registry)
        try bob.write("b.bin", seed: 2)
        var seed: UInt64 = 10
        let error = #expect(throws: GitError.self) {
            try bob.publish(beforePush: {
                seed += 1
                try alice.write("a.bin", seed: seed)
                _ = try alice.publish()
            })
        }
        #expect(error?.category == .remote)
        #expect(error?.code == .nonFastForward)
        #expect(error?.message.contains("another publisher pushed again while this one retried") == true)
        #expect(try git(["log", "--format=%an", "main"], in: registry) == "alice\nalice")
        #expect((try? git(["rev-parse", "--verify", "-q", "main"], in: bob.workspace.config.repoDir!)) != nil)
    }

    @Test("credentials: token as x-access-token over HTTPS, the key file or the agent over SSH, and a bounded retry")
    func credentialAnswers() {
        let token = GitCredentials(token: "s3cret-token")
        let https = GitCredentials.AllowedTypes.userPassword
        #expect(token.answer(allowedTypes: https, usernameFromURL: nil, attempt: 1) == .token(user: "x-access-token"))
        #expect(token.answer(allowedTypes: https, usernameFromURL: nil, attempt: 2) == .giveUp)
        #expect(token.answer(allowedTypes: https, usernameFromURL: nil, attempt: 3) == .giveUp)
        #expect(GitCredentials().answer(allowedTypes: https, usernameFromURL: nil, attempt: 1) == .giveUp)

        let ssh = GitCredentials.AllowedTypes.sshKey
        let keyed = GitCredentials(sshKey: "/keys/id_ed25519")
        #expect(keyed.answer(allowedTypes: ssh, usernameFromURL: "git", attempt: 1) == .sshKey(user: "git", path: "/keys/id_ed25519"))
        #expect(GitCredentials().answer(allowedTypes: ssh, usernameFromURL: nil, attempt: 1) == .sshAgent(user: "git"))
        #expect(GitCredentials().answer(allowedTypes: ssh, usernameFromURL: nil, attempt: 2) == .giveUp)

        #expect(token.scrub("https://x-access-token:s3cret-token@host/repo: 403") == "https://x-access-token:***@host/repo: 403")
    }

    @Test("a token from git.token_env reaches no file of the repository; an unset variable is a usage error")
    func tokenStaysOut() throws {
        let (directory, registry) = try setUp()
        let side = try PublisherSide(name: "carol", root: directory.path, registry: registry)
        try side.write("c.bin", seed: 3)
        var config = side.workspace.config
        config.git.tokenEnv = "REGISTRY_TOKEN"
        let missing = #expect(throws: UsageError.self) { try GitRegistry.open(config: config, environment: [:]) }
        #expect(missing?.message == "git.token_env names REGISTRY_TOKEN, which is not set")

        let registryHandle = try GitRegistry.open(config: config, environment: ["REGISTRY_TOKEN": "tok-1234567890"])
        #expect(registryHandle.credentials.token == "tok-1234567890")
        _ = try side.publish()
        let gitConfig = try String(contentsOfFile: config.repoDir! + "/.git/config", encoding: .utf8)
        #expect(!gitConfig.contains("tok-1234567890"))
    }

    @Test("a missing repo_dir is cloned from repo_url; an empty remote gives a branch-less clone")
    func cloneOnDemand() throws {
        let (directory, registry) = try setUp()
        var config = Config()
        config.repoDir = directory.path + "/client/repo"
        config.repoURL = "file://" + registry
        let opened = try GitRegistry.open(config: config, environment: [:])
        #expect(try opened.synchronize() == nil)
        #expect(try String(contentsOfFile: config.repoDir! + "/.git/HEAD", encoding: .utf8) == "ref: refs/heads/main\n")
    }

    @Test("the layout names files by digest under the subdirectory, and the channel parses leniently")
    func layout() throws {
        let digest = try Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
        let layout = RegistryLayout(subdir: "/registry/models/")
        #expect(layout.objectPath(digest) == "registry/models/objects/sha256/ab/\(digest.hex)")
        #expect(layout.manifestPath(digest) == "registry/models/manifests/sha256/\(digest.hex).json")
        #expect(RegistryLayout(subdir: "").latestChannel == "channels/latest")
        #expect(try RegistryLayout.parseChannel(Array("  \(digest)\r\n".utf8)) == digest)
        let bad = #expect(throws: IntegrityError.self) { try RegistryLayout.parseChannel(Array("latest\n".utf8)) }
        #expect(bad?.message == "channels/latest holds \"latest\", not a manifest digest")
    }
}
