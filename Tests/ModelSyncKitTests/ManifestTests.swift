import Testing
@testable import ModelSyncKit

/// Digests used as file contents throughout the manifest tests.
enum ManifestFixtures {
    /// `printf '' | sha256sum`
    static let empty = try! Digest(parsing: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    /// `printf 'abc' | sha256sum`
    static let abc = try! Digest(parsing: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

    /// Three files given out of order: an ASCII capital, a path with a quote, a non-ASCII directory.
    static var entries: [ManifestEntry] {
        [
            ManifestEntry(path: "é/run.sh", size: 3, digest: abc, mode: .executable),
            ManifestEntry(path: "models/say \"hi\".txt", size: 3, digest: abc, mode: .regular),
            ManifestEntry(path: "B/weights.bin", size: 0, digest: empty, mode: .regular),
        ]
    }

    /// The canonical bytes of `entries`, written by hand.
    static let canonical = #"{"files":[{"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","mode":"0644","path":"B/weights.bin","size":0},{"digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","mode":"0644","path":"models/say \"hi\".txt","size":3},{"digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","mode":"0755","path":"é/run.sh","size":3}],"schema":"model-sync.manifest.v1"}"#

    /// `printf '%s' "$canonical" | sha256sum`
    static let canonicalDigest = "sha256:21016fc07503926866b1045698a4f67628d5bcc9b06708dffed759634f375e6c"
}

@Suite("Manifest encoding, identity and validation")
struct ManifestTests {
    private func failure(_ body: () throws(IntegrityError) -> Void) -> IntegrityError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    @Test("a manifest encodes to the hand-written canonical bytes, raw UTF-8 and an escaped quote included")
    func canonicalBytes() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        #expect(String(decoding: manifest.canonicalBytes, as: UTF8.self) == ManifestFixtures.canonical)
        #expect(manifest.canonicalBytes == Array(ManifestFixtures.canonical.utf8))
        // "é" is written as its two UTF-8 bytes, not as \u00e9.
        #expect(manifest.canonicalBytes.contains(0xC3))
    }

    @Test("the manifest digest is the SHA-256 of its canonical bytes, as sha256sum prints it")
    func digest() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        #expect(manifest.digest.description == ManifestFixtures.canonicalDigest)
        #expect(manifest.digest == SHA256.hash(manifest.canonicalBytes))
    }

    @Test("the empty manifest has a fixed encoding and digest")
    func emptyManifest() throws {
        let manifest = try Manifest(files: [])
        #expect(String(decoding: manifest.canonicalBytes, as: UTF8.self)
            == #"{"files":[],"schema":"model-sync.manifest.v1"}"#)
        #expect(manifest.digest.description
            == "sha256:2d29b814fae6de62082fe7a370f7499b7475531d12819ae3f004ee696c8b32a5")
        #expect(manifest.totalBytes == 0)
    }

    @Test("decoding the canonical bytes gives back an equal manifest")
    func roundTrip() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        let decoded = try Manifest.decode(manifest.canonicalBytes)
        #expect(decoded == manifest)
        #expect(decoded.files == manifest.files)
        #expect(decoded.digest == manifest.digest)
        #expect(try Manifest.decode(Array(ManifestFixtures.canonical.utf8)).files == manifest.files)
    }

    @Test("files are sorted by UTF-8 bytes, whatever order they were given in")
    func bytewiseOrder() throws {
        let paths = ["é", "a", "\u{FF21}", "B", "😀", "a-b", "a.b/c", "Z"]
        let manifest = try Manifest(files: paths.map { ManifestEntry(path: $0, size: 0, digest: ManifestFixtures.empty) })
        // Bytewise: "B" (0x42) < "Z" < "a" < "a-b" < "a.b/c" < "é" (C3 A9) < U+FF21 (EF BC A1) < U+1F600 (F0 9F…);
        // UTF-16 order (NSString, JCS keys) would put the emoji before U+FF21.
        #expect(manifest.files.map(\.path) == ["B", "Z", "a", "a-b", "a.b/c", "é", "\u{FF21}", "😀"])
    }

    @Test("the same files in another order give the same manifest and digest")
    func orderIndependence() throws {
        let forward = try Manifest(files: ManifestFixtures.entries)
        let backward = try Manifest(files: ManifestFixtures.entries.reversed())
        #expect(forward == backward)
        #expect(forward.digest == backward.digest)
        #expect(Set([forward, backward]).count == 1)
    }

    @Test("totalBytes adds up the file sizes")
    func totalBytes() throws {
        let manifest = try Manifest(files: [
            ManifestEntry(path: "a", size: 1_048_576, digest: ManifestFixtures.abc),
            ManifestEntry(path: "b/c", size: Manifest.maxFileSize, digest: SHA256.hash(Array("another blob".utf8))),
        ])
        #expect(manifest.totalBytes == 1_048_576 + 9_007_199_254_740_991)
    }

    @Test("building a manifest refuses invalid paths, duplicates, file-and-directory clashes and oversized files")
    func initRejects() {
        func entry(_ path: String, size: UInt64 = 0) -> ManifestEntry {
            ManifestEntry(path: path, size: size, digest: ManifestFixtures.empty)
        }
        let cases: [([ManifestEntry], String)] = [
            ([entry("ok"), entry("../escape")], #"path "../escape" has a ".." component"#),
            ([entry("a"), entry("b"), entry("a")], #"manifest has the path "a" more than once"#),
            ([entry("a/b/c"), entry("a/b")], #"manifest path "a/b" is both a file and a directory (of "a/b/c")"#),
            ([entry("big", size: 1 << 53)], #"size of "big" is 9007199254740992, more than 9007199254740991"#),
        ]
        for (files, message) in cases {
            let error = failure { () throws(IntegrityError) in _ = try Manifest(files: files) }
            #expect(error?.message == message)
            #expect(error?.code == .invalidManifest)
        }
    }

    @Test("a path may share a prefix with another that is not a directory boundary")
    func prefixWithoutDirectory() throws {
        let manifest = try Manifest(files: ["a", "a-b/c", "ab", "a.b"].map {
            ManifestEntry(path: $0, size: 0, digest: ManifestFixtures.empty)
        })
        #expect(manifest.files.count == 4)
    }

    @Test("file modes map from POSIX permissions by the owner's execute bit")
    func fileModes() {
        #expect(FileMode(posixPermissions: 0o100755) == .executable)
        #expect(FileMode(posixPermissions: 0o744) == .executable)
        #expect(FileMode(posixPermissions: 0o655) == .regular)
        #expect(FileMode.executable.posixPermissions == 0o755)
        #expect(FileMode.regular.rawValue == "0644")
    }

    @Test("the example in docs/manifest-format.md has the digest the page states")
    func documentedExample() throws {
        let manifest = try Manifest(files: [
            ManifestEntry(path: "scripts/warmup.sh", size: 0, digest: ManifestFixtures.empty, mode: .executable),
            ManifestEntry(path: "btc/model.onnx", size: 3, digest: ManifestFixtures.abc, mode: .regular),
        ])
        #expect(manifest.canonicalBytes.count == 312)
        #expect(manifest.digest.description
            == "sha256:4836271da59e41e143aa585db998d8e0e025c1d901cff2ea1d61a5527fd3debf")
    }

    @Test("decoding under an expected digest refuses bytes that hash to another one")
    func expectedDigest() throws {
        let bytes = Array(ManifestFixtures.canonical.utf8)
        let expected = try Digest(parsing: ManifestFixtures.canonicalDigest)
        #expect(try Manifest.decode(bytes, expecting: expected).digest == expected)
        let error = failure { () throws(IntegrityError) in _ = try Manifest.decode(bytes, expecting: .empty) }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message == "manifest \(Digest.empty) is corrupt: its bytes hash to \(expected)")
    }

    @Test("a model set of 10k files in nested directories encodes, decodes and re-encodes to the same digest")
    func largeManifest() throws {
        let entries = (0..<10_000).map { index in
            // One digest per size: a digest names one content (the empty digest only size 0).
            ManifestEntry(path: "set\(index % 10)/pair-\(index % 97)/model-\(index).onnx", size: UInt64(index),
                          digest: index == 0 ? ManifestFixtures.empty : SHA256.hash(Array("blob \(index)".utf8)))
        }
        let manifest = try Manifest(files: entries.shuffled())
        let decoded = try Manifest.decode(manifest.canonicalBytes)
        #expect(decoded.files.count == 10_000)
        #expect(decoded.digest == manifest.digest)
        #expect(decoded.totalBytes == UInt64(9_999 * 10_000 / 2))
    }
}
