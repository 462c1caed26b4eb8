import Foundation
import Testing
@testable import ModelSyncKit

/// Runs the git CLI in `directory` with a fixed identity and no user or system configuration.
@discardableResult
private func git(_ arguments: [String], in directory: URL) throws -> String {
    let (status, output) = gitCLI(arguments, in: directory.path)
    guard status == 0 else { throw UsageError("git \(arguments.joined(separator: " ")) failed: \(output)") }
    return output
}

private func makeDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("git-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A worktree repository with one commit holding `models/channels/latest` and a larger `models/big.bin`.
private func makeRepository(in directory: URL) throws -> (latest: [UInt8], big: [UInt8]) {
    try git(["init", "-q"], in: directory)
    let channels = directory.appendingPathComponent("models/channels")
    try FileManager.default.createDirectory(at: channels, withIntermediateDirectories: true)
    let latest = Array("sha256:\(String(repeating: "ab", count: 32))\n".utf8)
    let big = (0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 9) }
    try Data(latest).write(to: channels.appendingPathComponent("latest"))
    try Data(big).write(to: directory.appendingPathComponent("models/big.bin"))
    try git(["add", "."], in: directory)
    try git(["commit", "-q", "-m", "first"], in: directory)
    return (latest, big)
}

@Suite("Repository reads git repositories through libgit2")
struct GitRepositoryTests {
    @Test("the blob at HEAD matches what the git CLI committed")
    func blobAtHead() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (latest, big) = try makeRepository(in: directory)

        let repository = try Repository(openingAt: directory.path)
        #expect(!repository.isBare)
        #expect(repository.workingDirectory == directory.path + "/")
        let head = try #require(try repository.headCommit())
        #expect(head.hex == (try git(["rev-parse", "HEAD"], in: directory)))
        #expect(try repository.blob(atPath: "models/channels/latest", inCommit: head) == latest)
        #expect(try repository.blob(atPath: "models/big.bin", inCommit: head) == big)

        let entry = try #require(try repository.entry(atPath: "models/channels/latest", inCommit: head))
        #expect(entry.isBlob && entry.fileMode == 0o100644)
        #expect(entry.oid.hex == (try git(["rev-parse", "HEAD:models/channels/latest"], in: directory)))
        #expect(try repository.entry(atPath: "models/absent", inCommit: head) == nil)
    }

    @Test("loose blobs stream in chunks; packed blobs are loaded whole and still chunked")
    func streaming() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, big) = try makeRepository(in: directory)
        let oid = try #require(GitOID(hex: try git(["rev-parse", "HEAD:models/big.bin"], in: directory)))

        for expected in [Repository.BlobReadMethod.streamed, .loadedWhole] {
            if expected == .loadedWhole { try git(["gc", "-q", "--prune=now"], in: directory) }
            let repository = try Repository(openingAt: directory.path)
            var bytes: [UInt8] = []
            var largest = 0
            let method = try repository.readBlob(oid) { chunk in
                largest = max(largest, chunk.count)
                bytes.append(contentsOf: chunk)
            }
            #expect(method == expected)
            #expect(bytes == big)
            #expect(largest <= 1 << 20)

            var viaPath: [UInt8] = []
            let head = try #require(try repository.headCommit())
            try repository.readBlob(atPath: "models/big.bin", inCommit: head) { viaPath.append(contentsOf: $0) }
            #expect(viaPath == big)
        }
    }

    @Test("missing paths and directories are reported as such")
    func missingPath() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try makeRepository(in: directory)
        let repository = try Repository(openingAt: directory.path)
        let head = try #require(try repository.headCommit())

        let missing = #expect(throws: GitError.self) { try repository.blob(atPath: "models/absent", inCommit: head) }
        #expect(missing?.code == .notFound)
        #expect(missing?.message == "git repository \(directory.path): read models/absent in commit \(head): "
            + "no such path in the commit's tree")
        let folder = #expect(throws: GitError.self) { try repository.blob(atPath: "models/channels", inCommit: head) }
        #expect(folder?.code == .wrongObjectType)
        let unknown = try #require(GitOID(hex: String(repeating: "0", count: 39) + "1"))
        let noCommit = #expect(throws: GitError.self) { try repository.blob(atPath: "x", inCommit: unknown) }
        #expect(noCommit?.code == .notFound)
        #expect(noCommit?.errorClass != 0)
    }

    @Test("a repository without commits has no head commit")
    func unbornHead() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try git(["init", "-q"], in: directory)
        #expect(try Repository(openingAt: directory.path).headCommit() == nil)

        let created = try Repository.create(at: directory.appendingPathComponent("new/worktree").path,
                                            initialBranch: "main")
        #expect(try created.headCommit() == nil)
        #expect(try created.status().isEmpty)
        let head = try String(contentsOf: directory.appendingPathComponent("new/worktree/.git/HEAD"), encoding: .utf8)
        #expect(head == "ref: refs/heads/main\n")

        let bare = try Repository.create(at: directory.appendingPathComponent("bare.git").path, bare: true)
        #expect(bare.isBare)
        #expect(bare.workingDirectory == nil)
        #expect(try bare.headCommit() == nil)
    }

    @Test("a bare clone opens, reads blobs, and refuses status")
    func bareRepository() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let worktree = directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: worktree, withIntermediateDirectories: true)
        let (latest, _) = try makeRepository(in: worktree)
        try git(["clone", "-q", "--bare", worktree.path, directory.appendingPathComponent("bare.git").path],
                in: directory)

        let bare = try Repository(openingAt: directory.appendingPathComponent("bare.git").path)
        #expect(bare.isBare)
        let head = try #require(try bare.headCommit())
        #expect(try bare.blob(atPath: "models/channels/latest", inCommit: head) == latest)
        let error = #expect(throws: GitError.self) { try bare.status() }
        #expect(error?.code == .bareRepository)
    }

    @Test("status lists modified, untracked and staged paths, not ignored ones")
    func status() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try makeRepository(in: directory)
        let repository = try Repository(openingAt: directory.path)
        #expect(try repository.status() == [])

        try Data("changed\n".utf8).write(to: directory.appendingPathComponent("models/channels/latest"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("new/dir"),
                                                withIntermediateDirectories: true)
        try Data("x".utf8).write(to: directory.appendingPathComponent("new/dir/untracked.txt"))
        try Data("ignored.log\n".utf8).write(to: directory.appendingPathComponent(".gitignore"))
        try Data("x".utf8).write(to: directory.appendingPathComponent("ignored.log"))
        #expect(try repository.status() == [".gitignore", "models/channels/latest", "new/dir/untracked.txt"])

        try git(["add", ".gitignore"], in: directory)
        try git(["rm", "-q", "--cached", "models/big.bin"], in: directory)
        #expect(try repository.status()
            == [".gitignore", "models/big.bin", "models/channels/latest", "new/dir/untracked.txt"])
    }

    @Test("opening a path without a repository is a usage error naming the path")
    func notARepository() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: GitError.self) { try Repository(openingAt: directory.path) }
        #expect(error?.category == .usage)
        #expect(error?.code == .notFound)
        #expect(error?.message
            == "git repository \(directory.path): open: could not find repository from '\(directory.path)'")

        // A subdirectory of a repository is not the repository: parents are not searched.
        try git(["init", "-q"], in: directory)
        let inner = directory.appendingPathComponent("inner")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        #expect(throws: GitError.self) { try Repository(openingAt: inner.path) }
    }

    @Test("object ids round-trip through hex and reject anything else")
    func oidHex() throws {
        let hex = "0123456789abcdef0123456789abcdef01234567"
        let oid = try #require(GitOID(hex: hex))
        #expect(oid.hex == hex)
        #expect(oid.bytes.count == 20)
        #expect(GitOID(hex: hex.uppercased()) == oid)
        #expect(GitOID(hex: String(hex.dropLast())) == nil)
        #expect(GitOID(hex: String(hex.dropLast()) + "g") == nil)
    }
}
