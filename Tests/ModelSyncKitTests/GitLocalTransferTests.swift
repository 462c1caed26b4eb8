import Foundation
import Testing
@testable import ModelSyncKit

/// Runs the git CLI (see `gitCLI`) and throws when it fails; returns its trimmed output.
@discardableResult
private func git(_ arguments: [String], in directory: String) throws -> String {
    let (status, output) = gitCLI(arguments, in: directory)
    guard status == 0 else { throw UsageError("git \(arguments) failed: \(output)") }
    return output
}

/// A bare registry at `root/registry.git`, a publisher and a client whose repo_dir does not exist yet.
private struct LocalRegistry {
    let directory = TemporaryDirectory("git-local")
    var root: String { directory.path }
    var registry: String { root + "/registry.git" }

    init() throws {
        try git(["init", "-q", "--bare", "-b", "main", registry], in: root)
    }

    func workspace(_ name: String, url: String? = nil) throws -> Workspace {
        let config = root + "/\(name).yaml"
        try Data("""
            model_sync:
              models_dir: \(root)/\(name)/models
              store_dir: \(root)/\(name)/store
              repo_dir: \(root)/\(name)/repo
              repo_url: "\(url ?? "file://" + registry)"
              git: {author_name: \(name), author_email: \(name)@example.invalid}
            """.utf8).write(to: URL(fileURLWithPath: config))
        try FileManager.default.createDirectory(atPath: root + "/\(name)/models", withIntermediateDirectories: true)
        return try Workspace.resolve(configPath: config, modelsDir: nil, storeDir: nil, envFile: nil, processEnvironment: [:])
    }

    func publish(_ workspace: Workspace, files: [String: UInt64]) throws -> Publisher.Result {
        for (name, seed) in files {
            try Data(pseudoRandomBytes(count: 70_000, seed: seed))
                .write(to: URL(fileURLWithPath: workspace.modelsDir + "/" + name))
        }
        return try Publisher(workspace: workspace).publish()
    }

    /// Files under `objects/pack` of a repository.
    func packs(_ gitDirectory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: gitDirectory + "/objects/pack")
    }
}

@Suite("local registries: objects linked, references swapped, clients sharing objects")
struct GitLocalTransferTests {
    @Test("publishing to a local bare registry hard-links loose objects and builds no pack; git fsck --strict is clean")
    func publishLinks() throws {
        let setup = try LocalRegistry()
        let publisher = try setup.workspace("publisher")
        let result = try setup.publish(publisher, files: ["a.bin": 1, "b.bin": 2])
        let commit = try #require(result.commit)

        #expect(try git(["rev-parse", "main"], in: setup.registry) == commit.hex)
        #expect(try setup.packs(setup.registry).isEmpty)
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: setup.registry).isEmpty)
        let blob = try git(["rev-parse", "main:models/objects/sha256/\(try blobPath(setup, result))"], in: setup.registry)
        let loose = setup.registry + "/objects/" + blob.prefix(2) + "/" + blob.dropFirst(2)
        let attributes = try FileManager.default.attributesOfItem(atPath: loose)
        #expect((attributes[.referenceCount] as? Int) == 2)  // the publisher's copy and the registry's
        #expect((attributes[.posixPermissions] as? Int) == 0o444)
        // The publisher's clone is an ordinary worktree that follows the push.
        #expect(try git(["status", "--porcelain"], in: setup.root + "/publisher/repo").isEmpty)
        #expect(try git(["log", "--format=%an", "-1"], in: setup.root + "/publisher/repo") == "publisher")
    }

    @Test("the publisher's worktree links the store's objects: a large blob is written once, as its loose object")
    func publisherWorktreeLinksStoreObjects() throws {
        let setup = try LocalRegistry()
        let publisher = try setup.workspace("publisher")
        let big = pseudoRandomBytes(count: (1 << 20) + 999, seed: 21)
        try Data(big).write(to: URL(fileURLWithPath: publisher.modelsDir + "/big.bin"))
        _ = try setup.publish(publisher, files: ["small.bin": 3])
        let worktreeObjects = setup.root + "/publisher/repo/models/objects/sha256"
        let names = try FileManager.default.subpathsOfDirectory(atPath: worktreeObjects).filter { $0.count > 3 }
        #expect(names.count == 2)
        var linked = 0
        for name in names {
            let hex = String(name.split(separator: "/").last!)
            let stored = try FileManager.default.subpathsOfDirectory(atPath: setup.root + "/publisher/store/objects")
                .first { $0.hasSuffix(hex) }
            let storePath = setup.root + "/publisher/store/objects/" + (try #require(stored))
            let worktree = try FileManager.default.attributesOfItem(atPath: worktreeObjects + "/" + name)
            let object = try FileManager.default.attributesOfItem(atPath: storePath)
            if worktree[.systemFileNumber] as? UInt64 == object[.systemFileNumber] as? UInt64 {
                linked += 1
                #expect(worktree[.size] as? Int == big.count)  // only blobs the checkout streams: ≥ 1 MiB
            }
        }
        #expect(linked == 1)
        #expect(try git(["status", "--porcelain"], in: setup.root + "/publisher/repo").isEmpty)
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: setup.registry).isEmpty)

        // The next publish finds the worktree clean and the set pulls whole.
        let second = try setup.publish(publisher, files: ["other.bin": 4])
        #expect(second.result == .published)
        let pulled = try Puller(workspace: try setup.workspace("client")).pull()
        #expect(pulled.manifest == second.manifest)
        #expect(setup.directory.read("client/models/big.bin") == big)
    }

    private func blobPath(_ setup: LocalRegistry, _ result: Publisher.Result) throws -> String {
        let listing = try git(["ls-tree", "-r", "--name-only", "main", "models/objects"], in: setup.registry)
        let first = try #require(listing.split(separator: "\n").first)
        return first.split(separator: "/").suffix(2).joined(separator: "/")
    }

    @Test("a client's new repo_dir is bare, shares the registry's objects through alternates, and passes git fsck")
    func clientSharesObjects() throws {
        let setup = try LocalRegistry()
        let published = try setup.publish(try setup.workspace("publisher"), files: ["a.bin": 1, "b.bin": 2])
        let client = try setup.workspace("client")
        let pulled = try Puller(workspace: client).pull()
        #expect(pulled.manifest == published.manifest)
        #expect(pulled.fetchedObjects == 2)

        let repo = setup.root + "/client/repo"
        #expect(try Repository(openingAt: repo).isBare)
        let alternates = try String(contentsOfFile: repo + "/objects/info/alternates", encoding: .utf8)
        #expect(alternates == setup.registry + "/objects\n")
        #expect(try setup.packs(repo).isEmpty)
        let ownObjects = try FileManager.default.contentsOfDirectory(atPath: repo + "/objects").filter { $0.count == 2 }
        #expect(ownObjects.isEmpty)
        #expect(try git(["rev-parse", "main"], in: repo) == published.commit?.hex)
        #expect(try git(["rev-parse", "origin/main"], in: repo) == published.commit?.hex)
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: repo).isEmpty)

        // A second pull adds the alternate once and finds nothing new.
        let again = try Puller(workspace: client).pull()
        #expect(again.result == .upToDate)
        #expect(try String(contentsOfFile: repo + "/objects/info/alternates", encoding: .utf8) == alternates)
    }

    @Test("a branch moved by someone else makes the compare-and-swap fail as a non-fast-forward, leaving it alone")
    func compareAndSwap() throws {
        let setup = try LocalRegistry()
        let work = setup.root + "/work"
        try git(["clone", "-q", setup.registry, work], in: setup.root)
        try git(["commit", "-q", "--allow-empty", "-m", "one"], in: work)
        try git(["commit", "-q", "--allow-empty", "-m", "two"], in: work)
        let one = try #require(GitOID(hex: try git(["rev-parse", "HEAD~1"], in: work)))
        let two = try #require(GitOID(hex: try git(["rev-parse", "HEAD"], in: work)))
        let repository = try Repository(openingAt: work)

        try repository.updateReference("refs/heads/topic", to: one, expecting: nil, logMessage: "create")
        #expect(try repository.referenceTarget("refs/heads/topic") == one)
        let exists = #expect(throws: GitError.self) {
            try repository.updateReference("refs/heads/topic", to: two, expecting: nil, logMessage: "create again")
        }
        #expect(exists?.code == .nonFastForward && exists?.category == .remote)
        let stale = #expect(throws: GitError.self) {
            try repository.updateReference("refs/heads/topic", to: two, expecting: two, logMessage: "stale")
        }
        #expect(stale?.code == .nonFastForward)
        #expect(try repository.referenceTarget("refs/heads/topic") == one)
        try repository.updateReference("refs/heads/topic", to: two, expecting: one, logMessage: "advance")
        #expect(try repository.referenceTarget("refs/heads/topic") == two)
    }

    @Test("objects the destination lacks are copied dependencies first; those it has are skipped")
    func copyMissing() throws {
        let setup = try LocalRegistry()
        let work = setup.root + "/work"
        try git(["clone", "-q", setup.registry, work], in: setup.root)
        try Data(pseudoRandomBytes(count: 10_000, seed: 3)).write(to: URL(fileURLWithPath: work + "/a.bin"))
        try git(["add", "a.bin"], in: work)
        try git(["commit", "-qm", "one"], in: work)
        try git(["push", "-q", "origin", "main"], in: work)
        try FileManager.default.createDirectory(atPath: work + "/dir", withIntermediateDirectories: true)
        try Data(pseudoRandomBytes(count: 20_000, seed: 4)).write(to: URL(fileURLWithPath: work + "/dir/b.bin"))
        try git(["add", "dir/b.bin"], in: work)
        try git(["commit", "-qm", "two"], in: work)
        let head = try #require(GitOID(hex: try git(["rev-parse", "HEAD"], in: work)))

        let source = try Repository(openingAt: work)
        let registry = try Repository(openingAt: setup.registry)
        let transfer = try source.copyMissingObjects(reachableFrom: head, to: registry)
        // The new commit, root tree, dir/ tree and b.bin; a.bin and the first commit were pushed already.
        #expect(transfer.objects == 4)
        #expect(transfer.blobs == 1 && transfer.blobBytes == 20_000)
        #expect(transfer.linked == 4)
        try registry.updateReference("refs/heads/main", to: head,
                                     expecting: GitOID(hex: try git(["rev-parse", "HEAD~1"], in: work)), logMessage: "push")
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: setup.registry).isEmpty)
        #expect(try source.copyMissingObjects(reachableFrom: head, to: registry).objects == 0)
    }

    @Test("local remotes: file:// URLs and directories, not network URLs; only bare ones are written into")
    func localRemoteDetection() throws {
        let setup = try LocalRegistry()
        #expect(LocalRemote.path(of: "file://" + setup.registry) == setup.registry)
        #expect(LocalRemote.path(of: "file://" + setup.root + "/with%20space") == setup.root + "/with space")
        #expect(LocalRemote.path(of: setup.registry) == setup.registry)
        #expect(LocalRemote.path(of: setup.root + "/absent") == nil)
        #expect(LocalRemote.path(of: "git://127.0.0.1/registry.git") == nil)
        #expect(LocalRemote.path(of: "https://example.invalid/registry.git") == nil)
        #expect(LocalRemote.path(of: "file://otherhost/registry.git") == nil)
        #expect(LocalRemote.open(url: setup.registry)?.acceptsDirectPush == true)

        // A non-bare remote is not written into directly either.
        let work = setup.root + "/nonbare"
        try git(["init", "-q", work], in: setup.root)
        #expect(LocalRemote.open(url: work)?.acceptsDirectPush == false)
    }

    @Test("a checkout writes the large files it adds by streaming them, and leaves a clean worktree and index")
    func streamingCheckout() throws {
        let directory = TemporaryDirectory("git-checkout")
        let work = directory.path + "/work"
        try git(["init", "-q", work], in: directory.path)
        directory.write("work/small.txt", Array("one\n".utf8))
        try git(["add", "-A"], in: work)
        try git(["commit", "-qm", "one"], in: work)
        let big = pseudoRandomBytes(count: (1 << 20) + 4_321, seed: 5)
        directory.write("work/models/objects/big.bin", big)
        directory.write("work/small.txt", Array("two\n".utf8))
        try git(["add", "-A"], in: work)
        try git(["commit", "-qm", "two"], in: work)
        let one = try #require(GitOID(hex: try git(["rev-parse", "HEAD~1"], in: work)))
        let two = try #require(GitOID(hex: try git(["rev-parse", "HEAD"], in: work)))
        try git(["reset", "-q", "--hard", one.hex], in: work)
        #expect(!FileManager.default.fileExists(atPath: work + "/models/objects/big.bin"))

        let repository = try Repository(openingAt: work)
        try repository.setReference("refs/heads/main", to: two, logMessage: "test")
        let streamed = try repository.checkout(two, baseline: one, force: false, streamingAdditions: true)
        #expect(streamed == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: work + "/models/objects/big.bin")) == Data(big))
        #expect(try String(contentsOfFile: work + "/small.txt", encoding: .utf8) == "two\n")
        #expect(try git(["status", "--porcelain"], in: work).isEmpty)
        #expect(try repository.status().isEmpty)
        #expect(try git(["ls-files", "-s", "models/objects/big.bin"], in: work).hasPrefix("100644 "))
        #expect(try git(["diff", "--stat", "HEAD"], in: work).isEmpty)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work + "/models/objects")
        #expect(leftovers == ["big.bin"])
    }
}
