import Foundation
import Testing
@testable import ModelSyncKit

/// One hostile name, and where each entry point can meet it.
struct HostileName: CustomTestStringConvertible, Sendable {
    let label: String
    /// The path's bytes (relative to the set's root; `/` separates folders).
    let bytes: [UInt8]
    /// What every refusal says, whichever entry point refuses.
    let fragment: String
    /// The archive fixture holding an entry with such a name.
    let archive: String
    /// Whether a Linux filesystem (and so an import, and a git worktree) can hold the name.
    let onDisk: Bool

    var testDescription: String { label }
    var path: String? { String(validating: bytes, as: UTF8.self) }
}

private let archiveFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/archives").path

private let hostileNames: [HostileName] = [
    HostileName(label: "a control character", bytes: Array("btc/bad\u{1}name.bin".utf8),
                fragment: "contains the control character U+0001", archive: "hostile-control-char.zip", onDisk: true),
    HostileName(label: "an escape sequence", bytes: Array("btc/\u{1B}[31mred.bin".utf8),
                fragment: "contains the control character U+001B", archive: "hostile-control-char.zip", onDisk: true),
    HostileName(label: "a backslash", bytes: Array(#"btc\model.bin"#.utf8),
                fragment: "contains a backslash", archive: "hostile-backslash.zip", onDisk: true),
    HostileName(label: "bytes that are not UTF-8", bytes: Array("btc/bad".utf8) + [0xFF] + Array(".bin".utf8),
                fragment: "not valid UTF-8", archive: "hostile-not-utf8.zip", onDisk: true),
    HostileName(label: "a NUL byte", bytes: Array("btc/model.bin".utf8) + [0] + Array("../../evil".utf8),
                fragment: "contains a NUL character", archive: "hostile-nul-byte.zip", onDisk: false),
    HostileName(label: "a component over 255 bytes", bytes: Array(("btc/" + String(repeating: "x", count: 256)).utf8),
                fragment: "has a component of 256 bytes, more than 255", archive: "hostile-long-component.zip",
                onDisk: false),
    HostileName(label: "a path over 4096 bytes",
                bytes: Array((Array(repeating: String(repeating: "d", count: 200), count: 21) + ["f.bin"])
                    .joined(separator: "/").utf8),
                fragment: "more than 4096", archive: "hostile-long-path.zip", onDisk: true),
]

/// `{"files":[{…, "path": <bytes>, …}],"schema":…}` in canonical form, the path's bytes written as they are
/// (escaped as the canonical encoder escapes when they are UTF-8).
private func manifestBytes(path bytes: [UInt8]) -> [UInt8] {
    let content = Array("hostile\n".utf8)
    let quoted = String(validating: bytes, as: UTF8.self).map { CanonicalJSON.encode(.string($0)) }
        ?? [UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]
    return Array(#"{"files":[{"digest":"\#(SHA256.hash(content))","mode":"0644","path":"#.utf8) + quoted
        + Array(#","size":\#(content.count)}],"schema":"model-sync.manifest.v1"}"#.utf8)
}

/// Creates the file named by `bytes` below `root`, folder by folder (a path past PATH_MAX cannot be created
/// in one call).
private func createFile(_ bytes: [UInt8], under root: String) throws {
    var components = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
    let file = components.removeLast()
    let start = open(root, O_RDONLY | O_DIRECTORY)
    #expect(start >= 0)
    var directory = start
    for component in components {
        let name = component.map { CChar(bitPattern: $0) } + [0]
        _ = mkdirat(directory, name, 0o755)
        let next = openat(directory, name, O_RDONLY | O_DIRECTORY)
        close(directory)
        guard next >= 0 else { throw IOError.current("mkdir", String(decoding: component, as: UTF8.self)) }
        directory = next
    }
    let name = file.map { CChar(bitPattern: $0) } + [0]
    let descriptor = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    close(directory)
    guard descriptor >= 0 else { throw IOError.current("create", String(decoding: file, as: UTF8.self)) }
    _ = write(descriptor, "hostile\n", 8)
    close(descriptor)
}

@Suite("one set of name rules at every entry point: import, manifests, registries, archives")
struct NameRulesTests {
    @Test("the rules themselves refuse the name", arguments: hostileNames)
    func rules(_ name: HostileName) {
        let problem = ManifestPath.problem(withBytes: name.bytes)
        #expect(problem?.contains(name.fragment) == true, "\(problem ?? "accepted")")
    }

    @Test("a manifest listing the name is refused when made and when decoded", arguments: hostileNames)
    func manifest(_ name: HostileName) throws {
        if let path = name.path {
            let made = try #require(throws: IntegrityError.self) {
                try Manifest(files: [ManifestEntry(path: path, size: 8, digest: SHA256.hash(Array("hostile\n".utf8)))])
            }
            #expect(made.message.contains(name.fragment), "\(made.message)")
        }
        let decoded = try #require(throws: IntegrityError.self) { try Manifest.decode(manifestBytes(path: name.bytes)) }
        #expect(decoded.code == .invalidManifest)
        // A JSON string that is not UTF-8 is refused by the parser before the path rules see it.
        #expect(decoded.message.contains(name.path == nil ? "UTF-8" : name.fragment), "\(decoded.message)")
    }

    @Test("import refuses a folder holding the name, with exit 2, naming it", arguments: hostileNames.filter(\.onDisk))
    func importFolder(_ name: HostileName) throws {
        let directory = TemporaryDirectory("name-rules")
        let models = directory.path + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        directory.write("models/good.bin", "fine\n")
        try createFile(name.bytes, under: models)
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let error = try #require(throws: UsageError.self) { try store.importDirectory(models) }
        #expect(error.message.contains(name.fragment), "\(error.message)")
        #expect(error.category.exitCode == 2)
        // pack walks the same way and refuses the same folder.
        let packed = try #require(throws: UsageError.self) {
            try Packer().pack(modelsDir: models, to: directory.path + "/delta.zip")
        }
        #expect(packed.message == error.message)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/delta.zip"))
    }

    @Test("an archive entry with the name is refused whole, with exit 3", arguments: hostileNames)
    func archive(_ name: HostileName) throws {
        let directory = TemporaryDirectory("name-rules")
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let before = try store.objects.enumerate().objects
        let error = try #require(throws: IntegrityError.self) {
            try ArchiveImporter(store: store).importArchive(at: archiveFixtures + "/" + name.archive)
        }
        #expect(error.category.exitCode == 3)
        // The fixtures hold one instance of each rule; the long-name rows and the NUL have fixtures of their own.
        let fragment = name.label == "an escape sequence" ? "contains the control character" : name.fragment
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(try store.objects.enumerate().objects == before)
    }

    @Test("a registry commit whose tree holds the name is refused before the worktree moves",
          arguments: hostileNames.filter { $0.onDisk && $0.bytes.count < 4096 })
    func registry(_ name: HostileName) throws {
        let directory = TemporaryDirectory("name-rules")
        let registry = directory.path + "/registry.git"
        #expect(gitCLI(["init", "-q", "--bare", "-b", "main", registry], in: directory.path).status == 0)
        // Someone with push access commits the name with the git CLI.
        let other = directory.path + "/other"
        #expect(gitCLI(["clone", "-q", registry, other], in: directory.path).status == 0)
        try createFile(name.bytes, under: other)
        #expect(gitCLI(["add", "-A"], in: other).status == 0)
        #expect(gitCLI(["commit", "-q", "-m", "hostile"], in: other).status == 0)
        #expect(gitCLI(["push", "-q", "origin", "main"], in: other).status == 0)

        // A publisher whose working clone is behind fetches and fast-forwards before publishing.
        let repo = directory.path + "/repo"
        #expect(gitCLI(["init", "-q", "-b", "main", repo], in: directory.path).status == 0)
        #expect(gitCLI(["remote", "add", "origin", registry], in: repo).status == 0)
        directory.write("models/a.bin", "weights\n")
        let config = directory.write("config.yaml", """
            model_sync:
              models_dir: \(directory.path)/models
              store_dir: \(directory.path)/store
              repo_dir: \(repo)
              git: {author_name: alice, author_email: alice@example.invalid}
            """)
        let workspace = try Workspace.resolve(configPath: config, modelsDir: nil, storeDir: nil, envFile: nil,
                                              processEnvironment: [:])
        let error = try #require(throws: IntegrityError.self) {
            _ = try Publisher(workspace: workspace).publish()
        }
        #expect(error.message.contains("the registry's commit"), "\(error.message)")
        #expect(error.message.contains(name.fragment), "\(error.message)")
        // Nothing of the hostile tree reached the worktree.
        #expect(gitCLI(["rev-parse", "-q", "--verify", "refs/heads/main"], in: repo).status != 0)
    }
}
