import Foundation
import Testing
@testable import ModelSyncKit

@Suite("the git registry with Git LFS: pointer files, .gitattributes, refusal hints")
struct GitRegistryLFSTests {
    /// A registry (a new repository) and a commit holding `files` (path → bytes).
    private func registry(_ files: [String: [UInt8]]) throws -> (TemporaryDirectory, GitRegistry, GitOID) {
        let directory = TemporaryDirectory("git-registry-lfs")
        let repository = try Repository.create(at: directory.path + "/repo", bare: true, initialBranch: "main")
        let registry = GitRegistry(repository: repository, layout: RegistryLayout(subdir: "models"), remote: "origin", branch: "main")
        let changes = try files.map { GitTreeChange.upsert(path: $0.key, blob: try repository.createBlob(bytes: $0.value)) }
        let tree = try repository.tree(applying: changes, toCommit: nil)
        let commit = try repository.createCommit(tree: tree, parents: [], message: "files",
                                                 author: GitSignature(name: "t", email: "t@example.invalid"))
        return (directory, registry, commit)
    }

    private static func entry(_ bytes: [UInt8], path: String = "set/a.bin") -> ManifestEntry {
        ManifestEntry(path: path, size: UInt64(bytes.count), digest: SHA256.hash(bytes))
    }

    @Test("a registry file is the blob when it has the entry's size, LFS when it is a pointer to the entry")
    func blobKinds() throws {
        let content = Array(repeating: UInt8(7), count: 5_000)
        let entry = Self.entry(content)
        let pointer = LFSPointer.text(for: LFSObject(oid: entry.digest, size: entry.size))
        // Content that happens to be pointer text is still content: its size is the entry's.
        let pointerAsContent = Self.entry(pointer, path: "set/pointer.txt")
        let (directory, registry, commit) = try registry([
            "raw": content, "pointer": pointer, "junk": Array("not a pointer\n".utf8), "literal": pointer,
        ])
        let repository = registry.repository
        func oid(_ path: String) throws -> GitOID { try #require(try repository.entry(atPath: path, inCommit: commit)).oid }
        #expect(try registry.blobKind(of: entry, oid: oid("raw"), in: commit) == .raw)
        #expect(try registry.blobKind(of: entry, oid: oid("pointer"), in: commit) == .lfs)
        #expect(try registry.blobKind(of: entry, oid: oid("junk"), in: commit) == .raw)
        #expect(try registry.blobKind(of: pointerAsContent, oid: oid("literal"), in: commit) == .raw)

        // A file as long as its own pointer (128 bytes) is still found to be a pointer.
        let twin = Array(repeating: UInt8(9), count: 128)
        let twinEntry = Self.entry(twin, path: "set/twin.bin")
        let twinPointer = LFSPointer.text(for: LFSObject(oid: twinEntry.digest, size: 128))
        #expect(twinPointer.count == 128)
        let (twinDirectory, twinRegistry, twinCommit) = try self.registry(["twin": twinPointer, "raw": twin])
        let twinOID = try #require(try twinRegistry.repository.entry(atPath: "twin", inCommit: twinCommit)).oid
        let rawOID = try #require(try twinRegistry.repository.entry(atPath: "raw", inCommit: twinCommit)).oid
        #expect(try twinRegistry.blobKind(of: twinEntry, oid: twinOID, in: twinCommit) == .lfs)
        #expect(try twinRegistry.blobKind(of: twinEntry, oid: rawOID, in: twinCommit) == .raw)
        withExtendedLifetime(twinDirectory) {}

        // A pointer to anything else than the entry is refused (exit 3), naming both.
        let other = Self.entry(Array(repeating: UInt8(8), count: 5_000), path: "set/b.bin")
        let error = #expect(throws: IntegrityError.self) { try registry.blobKind(of: other, oid: oid("pointer"), in: commit) }
        #expect(error?.category.exitCode == 3)
        #expect(error?.message.contains("is a Git LFS pointer to \(entry.digest) (5000 bytes), but the manifest lists "
                                        + "\(other.digest) (5000 bytes) for set/b.bin") == true, "\(error?.message ?? "")")
        let resized = ManifestEntry(path: "set/a.bin", size: 4_999, digest: entry.digest)
        #expect(throws: IntegrityError.self) { try registry.blobKind(of: resized, oid: oid("pointer"), in: commit) }
        withExtendedLifetime(directory) {}
    }

    @Test(".gitattributes gets git lfs track's line once, after any lines it had")
    func attributes() throws {
        let (directory, registry, commit) = try registry([".gitattributes": Array("*.txt text".utf8)])
        #expect(registry.lfsAttributesLine == "models/objects/sha256/** filter=lfs diff=lfs merge=lfs -text")
        guard case .upsert(_, let blob, _)? = try registry.lfsAttributesChange(onto: commit) else {
            Issue.record("no change")
            return
        }
        var text: [UInt8] = []
        _ = try registry.repository.readBlob(blob) { text.append(contentsOf: $0) }
        #expect(String(decoding: text, as: UTF8.self) == "*.txt text\nmodels/objects/sha256/** filter=lfs diff=lfs merge=lfs -text\n")

        let (other, tracked, trackedCommit) = try self.registry([".gitattributes": Array((registry.lfsAttributesLine + "\n").utf8)])
        #expect(try tracked.lfsAttributesChange(onto: trackedCommit) == nil)
        guard case .upsert(let path, _, _)? = try tracked.lfsAttributesChange(onto: nil) else {
            Issue.record("no change on an empty registry")
            return
        }
        #expect(path == ".gitattributes")
        withExtendedLifetime((directory, other)) {}
    }

    @Test("the hint of a refused push says what to do, with and without LFS")
    func refusalHints() throws {
        let (directory, registry, _) = try registry([:])
        #expect(registry.hostRefusalHint(throughLFS: false).contains("model_sync.git.lfs: true"))
        #expect(registry.hostRefusalHint(throughLFS: true).contains("the commit holds only pointers"))
        var error = GitError(code: .generic, errorClass: 12, detail: "the remote refused refs/heads/main: declined",
                             operation: "push to origin", repositoryPath: "/r", category: .remote, refusedByHost: true)
        #expect(error.hint == "the host refused the push: its own message (the remote: lines) says why")
        error.hostRefusalHint = registry.hostRefusalHint(throughLFS: false)
        #expect(error.hint == registry.hostRefusalHint(throughLFS: false))
        withExtendedLifetime(directory) {}
    }
}
