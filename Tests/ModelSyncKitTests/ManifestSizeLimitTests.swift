import Foundation
import Testing
@testable import ModelSyncKit

@Suite("manifests from remotes are capped in size before they are read")
struct ManifestSizeLimitTests {
    /// A registry whose channels/latest names a manifest of `files` entries, cloned as a client's repo_dir.
    func registry(files: Int) throws -> (TemporaryDirectory, GitRegistry, Digest) {
        let directory = TemporaryDirectory("manifest-limit")
        let work = directory.path + "/work"
        _ = gitCLI(["init", "-q", "-b", "main", work], in: directory.path)
        let entries = (0..<files).map { index in
            ManifestEntry(path: "models/file\(index).bin", size: 1, digest: SHA256.hash(Array("\(index)".utf8)))
        }
        let manifest = try Manifest(files: entries)
        let layout = RegistryLayout(subdir: "models")
        for (path, bytes) in [(layout.manifestPath(manifest.digest), manifest.canonicalBytes),
                              (layout.latestChannel, RegistryLayout.channelText(manifest.digest))] {
            try FileManager.default.createDirectory(atPath: work + "/" + (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: work + "/" + path))
        }
        _ = gitCLI(["add", "-A"], in: work)
        _ = gitCLI(["commit", "-q", "-m", "publish"], in: work)
        var config = Config()
        config.repoDir = work
        let registry = try GitRegistry.open(config: config, environment: [:])
        return (directory, registry, manifest.digest)
    }

    @Test("a registry manifest over the limit is refused with exit 3, naming its size and the limit")
    func registryManifestTooLarge() throws {
        let (directory, registry, digest) = try registry(files: 40)
        defer { _ = directory }
        let commit = try #require(try registry.repository.referenceTarget("HEAD"))
        let size = try registry.manifestBytes(digest, in: commit).count
        registry.manifestByteLimit = size - 1
        let error = #expect(throws: IntegrityError.self) { try registry.manifestBytes(digest, in: commit) }
        #expect(error?.category == .integrity)
        #expect(error?.message == "the registry's \(registry.layout.manifestPath(digest)) is \(size) bytes, "
                + "more than the \(size - 1) bytes a manifest may have")
        registry.manifestByteLimit = size
        #expect(try Manifest.decode(registry.manifestBytes(digest, in: commit), expecting: digest).files.count == 40)
    }

    @Test("the documented limit is 64 MiB")
    func documentedLimit() {
        #expect(Manifest.maxEncodedBytes == 64 << 20)
    }

    @Test("decoding keeps the input as the canonical bytes and refuses a stray byte after the last entry")
    func decodeStreams() throws {
        let entries = (0..<3).map { ManifestEntry(path: "f\($0)", size: 1, digest: SHA256.hash([UInt8($0)])) }
        let manifest = try Manifest(files: entries)
        let decoded = try Manifest.decode(manifest.canonicalBytes)
        #expect(decoded.files == manifest.files)
        #expect(decoded.canonicalBytes == manifest.canonicalBytes)
        var spaced = manifest.canonicalBytes
        spaced.insert(UInt8(ascii: " "), at: spaced.count - 1)
        let error = #expect(throws: IntegrityError.self) { try Manifest.decode(spaced) }
        #expect(error?.message == "manifest is not in canonical form (RFC 8785)")
        let empty = try Manifest(files: [])
        #expect(try Manifest.decode(empty.canonicalBytes).files.isEmpty)
    }
}
