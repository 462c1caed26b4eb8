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

/// A worktree repository with one commit, and a large file written as a blob from `source` and committed on
/// top under `models/objects/big.bin`, not yet checked out.
private struct SourcedBlob {
    let directory = TemporaryDirectory("git-sourced")
    let work: String
    let repository: Repository
    let source: String
    let content: [UInt8]
    let one: GitOID
    let two: GitOID
    static let path = "models/objects/big.bin"

    init(sourceMode: Int, sourceDirectory: String? = nil) throws {
        work = directory.path + "/work"
        try git(["init", "-q", "-b", "main", work], in: directory.path)
        directory.write("work/small.txt", "one\n")
        try git(["add", "-A"], in: work)
        try git(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "one"], in: work)
        repository = try Repository(openingAt: work)
        one = try #require(try repository.referenceTarget("HEAD"))
        content = pseudoRandomBytes(count: (1 << 20) + 7_777, seed: 11)
        if let sourceDirectory {
            source = sourceDirectory + "/big.bin"
            _ = FileManager.default.createFile(atPath: source, contents: Data(content), attributes: [.posixPermissions: sourceMode])
        } else {
            source = directory.write("store/big.bin", content, mode: sourceMode)
        }
        let blob = try repository.writeStoredBlob(fromFileAt: source)
        let tree = try repository.tree(applying: [.upsert(path: Self.path, blob: blob)], toCommit: one)
        two = try repository.createCommit(tree: tree, parents: [one], message: "two",
                                          author: GitSignature(name: "t", email: "t@example.invalid"))
    }

    /// Checks `two` out with streamed additions and checks the worktree is clean and holds the content.
    func checkOut() throws {
        try repository.setReference("refs/heads/main", to: two, logMessage: "test")
        #expect(try repository.checkout(two, baseline: one, force: false, streamingAdditions: true) == 1)
        #expect(directory.read("work/" + Self.path) == content)
        #expect(try repository.status().isEmpty)
        #expect(try git(["status", "--porcelain"], in: work).isEmpty)
        #expect(try git(["diff", "--stat", "HEAD"], in: work).isEmpty)
        #expect(try git(["ls-files", "-s", Self.path], in: work).hasPrefix("100644 "))
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: work).contains("error") == false)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work + "/models/objects")
        #expect(leftovers == ["big.bin"])
    }

    func inode(_ path: String) throws -> UInt64 {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
    }
}

@Suite("a checkout takes a blob's bytes from the read-only file it was written from")
struct GitCheckoutFromSourceTests {
    @Test("a read-only source (a store object) is hard-linked into the worktree: no byte written again")
    func linksReadOnlySource() throws {
        let setup = try SourcedBlob(sourceMode: 0o444)
        try setup.checkOut()
        #expect(try setup.inode(setup.work + "/" + SourcedBlob.path) == (try setup.inode(setup.source)))
        // The source is untouched: still read-only, same bytes.
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.source)
        #expect((attributes[.posixPermissions] as? Int) == 0o444)
        #expect(setup.directory.read("store/big.bin") == setup.content)
    }

    @Test("a writable source is not linked: the worktree file is a file of its own")
    func writableSourceIsNotLinked() throws {
        let setup = try SourcedBlob(sourceMode: 0o644)
        try setup.checkOut()
        #expect(try setup.inode(setup.work + "/" + SourcedBlob.path) != (try setup.inode(setup.source)))
    }

    @Test("a source changed after the blob was written is neither linked nor copied: the blob's bytes are checked out")
    func changedSourceIsNotUsed() throws {
        let setup = try SourcedBlob(sourceMode: 0o444)
        chmod(setup.source, 0o644)
        var changed = setup.content
        changed[0] ^= 0xFF
        try Data(changed).write(to: URL(fileURLWithPath: setup.source))
        chmod(setup.source, 0o444)
        try setup.checkOut()
        #expect(try setup.inode(setup.work + "/" + SourcedBlob.path) != (try setup.inode(setup.source)))
    }

    @Test("a source on another filesystem is copied (copy_file_range), not linked")
    func otherFilesystemIsCopied() throws {
        let shm = "/dev/shm"
        let other = TemporaryDirectory("git-sourced-other")
        var tmpfs = stat(), local = stat()
        guard stat(shm, &tmpfs) == 0, stat(other.path, &local) == 0, tmpfs.st_dev != local.st_dev,
              access(shm, W_OK) == 0 else {
            // Only a second filesystem exercises the copy; without one the link path above is what runs.
            return
        }
        let sourceDirectory = shm + "/model-sync-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: sourceDirectory, withIntermediateDirectories: true)
        defer {
            chmod(sourceDirectory + "/big.bin", 0o644)
            try? FileManager.default.removeItem(atPath: sourceDirectory)
        }
        let setup = try SourcedBlob(sourceMode: 0o444, sourceDirectory: sourceDirectory)
        try setup.checkOut()
        #expect(try setup.inode(setup.work + "/" + SourcedBlob.path) != (try setup.inode(setup.source)))
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.work + "/" + SourcedBlob.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }
}
