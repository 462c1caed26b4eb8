import Foundation
@testable import ModelSyncKit

/// A bare git registry on a path with giftless beside it as its Git LFS server (`git.lfs: true`), and two
/// workspaces naming both: `publisher` (models, store and a clone of the registry) and `client` (which
/// clones it on its first pull).
struct LFSRegistryFixture {
    let server: GiftlessServer
    let directory = TemporaryDirectory("lfs-registry")
    let publisher: Workspace
    let client: Workspace

    init() throws {
        server = try GiftlessServer()
        let root = directory.path
        guard gitCLI(["init", "-q", "--bare", "-b", "main", root + "/registry.git"], in: root).status == 0,
              gitCLI(["clone", "-q", root + "/registry.git", root + "/publisher/repo"], in: root).status == 0 else {
            throw UsageError("cannot make the git registry in \(root)")
        }
        try FileManager.default.createDirectory(atPath: root + "/publisher/models", withIntermediateDirectories: true)
        publisher = try Self.workspace(root + "/publisher", server: server, extra: "")
        client = try Self.workspace(root + "/client", server: server, extra: "  repo_url: \(root)/registry.git\n")
    }

    /// The publisher's workspace with `git.lfs: false`: its blobs go into the git repository.
    func publisherWithoutLFS() throws -> Workspace {
        try Self.workspace(directory.path + "/publisher", server: server, extra: "", lfs: false)
    }

    /// The publisher's workspace uploading to another LFS server, at `lfsURL`.
    func publisher(lfsURL: String) throws -> Workspace {
        try Self.workspace(directory.path + "/publisher", server: server, extra: "", lfsURL: lfsURL)
    }

    /// Writes `bytes` as `relative` in the publisher's models folder.
    func writeModel(_ relative: String, _ bytes: [UInt8]) {
        directory.write("publisher/models/" + relative, bytes)
    }

    /// A workspace under `base` whose git section names the LFS server with its JWT.
    private static func workspace(_ base: String, server: GiftlessServer, extra: String, lfs: Bool = true,
                                  lfsURL: String? = nil) throws -> Workspace {
        let config = base + (lfs ? "" : "-without-lfs") + (lfsURL == nil ? "" : "-elsewhere") + ".yaml"
        try Data("""
            model_sync:
              models_dir: \(base)/models
              store_dir: \(base)/store
              repo_dir: \(base)/repo
            \(extra)  git:
                author_name: Publisher
                author_email: publisher@example.invalid
                lfs: \(lfs)
                lfs_url: \(lfsURL ?? server.url)
                username: _jwt
                token_env: LFS_TOKEN

            """.utf8).write(to: URL(fileURLWithPath: config))
        return try Workspace.resolve(configPath: config, modelsDir: nil, storeDir: nil, envFile: nil,
                                     processEnvironment: ["LFS_TOKEN": server.token])
    }
}
