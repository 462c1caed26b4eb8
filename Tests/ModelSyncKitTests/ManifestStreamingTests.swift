import Foundation
import Testing
@testable import ModelSyncKit

/// The import's manifest is hashed and written a piece at a time, and the per-file steps of a re-import take
/// shortcuts (digests and paths as bytes, no strings built); each shortcut must give what the plain form gives.
@Suite("manifest built without its bytes, and the import's byte-level shortcuts")
struct ManifestStreamingTests {
    /// `count` entries with distinct digests, paths over two folder levels, some executable.
    private func entries(_ count: Int) -> [ManifestEntry] {
        (0..<count).map { index in
            ManifestEntry(path: "d\(index % 7)/f\(index).bin", size: UInt64(index + 1),
                          digest: SHA256.hash(Array("file \(index)".utf8)),
                          mode: index % 5 == 0 ? .executable : .regular)
        }
    }

    @Test("a manifest built without its bytes has the digest, bytes and length of one built with them",
          arguments: [0, 1, 3, 700, 3000])
    func sameIdentity(count: Int) throws {
        let files = entries(count)
        let kept = try Manifest(files: files)
        let streamed = try Manifest(files: files, keepingBytes: false)
        #expect(streamed.digest == kept.digest)
        #expect(streamed.encodedCount == kept.canonicalBytes.count)
        #expect(streamed.canonicalBytes == kept.canonicalBytes)
        #expect(streamed == kept)
        #expect(try Manifest.decode(streamed.canonicalBytes) == kept)
    }

    @Test("the pieces written for a large manifest join into its canonical bytes")
    func piecesJoin() throws {
        let manifest = try Manifest(files: entries(3000), keepingBytes: false)
        var joined: [UInt8] = []
        var pieces = 0
        manifest.writeCanonicalBytes { piece in
            joined.append(contentsOf: piece)
            pieces += 1
        }
        #expect(pieces > 1)  // more than 64 KiB: written in several pieces
        #expect(joined == manifest.canonicalBytes)
        #expect(SHA256.hash(joined) == manifest.digest)
    }

    @Test("a manifest built without its bytes refuses what init(files:) refuses")
    func sameValidation() {
        let digest = SHA256.hash(Array("x".utf8))
        let refused: [[ManifestEntry]] = [
            [ManifestEntry(path: "../x", size: 1, digest: digest)],
            [ManifestEntry(path: "a", size: 1, digest: digest), ManifestEntry(path: "a", size: 1, digest: digest)],
            [ManifestEntry(path: "a", size: 1, digest: digest), ManifestEntry(path: "a/b", size: 1, digest: digest)],
            [ManifestEntry(path: "a", size: 1, digest: digest), ManifestEntry(path: "b", size: 2, digest: digest)],
        ]
        for files in refused {
            #expect(throws: IntegrityError.self) { try Manifest(files: files, keepingBytes: false) }
        }
    }

    @Test("an imported manifest's object holds its canonical bytes, and the index its length")
    func importedManifestObject() throws {
        let directory = TemporaryDirectory()
        // Enough files for a manifest of more than one 64 KiB piece.
        for index in 0..<600 {
            directory.write("models/d\(index % 3)/file-\(index).bin", Array("content \(index)".utf8))
        }
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let result = try store.importDirectory(directory.path + "/models")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: store.objects.path(of: result.manifest))))
        #expect(bytes.count > 64 << 10)
        let manifest = try Manifest.decode(bytes, expecting: result.manifest)
        #expect(manifest.files.count == 600)
        #expect(try store.index.objectSize(result.manifest) == UInt64(bytes.count))
    }

    @Test("digest text: parsed in one pass as before, spelled as bytes and as an object path")
    func digestSpellings() throws {
        let digest = SHA256.hash(Array("abc".utf8))
        let text = digest.description
        #expect(text == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try Digest(parsing: text) == digest)
        // A string that is not stored contiguously takes the general path.
        #expect(try Digest(parsing: NSString(string: text) as String) == digest)
        #expect(try Digest(parsing: digest.hex, allowBareHex: true) == digest)
        var bytes: [UInt8] = [0x41]
        digest.appendDescription(to: &bytes)
        #expect(bytes == [0x41] + Array(text.utf8))
        #expect(digest.objectRelativePath == "sha256/ba/" + digest.hex)
        #expect(digest.leadingWord == 0xba7816bf8f01cfea)
        for bad in ["sha256:" + String(repeating: "g", count: 64), "sha256:" + String(repeating: "a", count: 63) + "A",
                    "sha256:" + String(repeating: "a", count: 65), "SHA256:" + digest.hex, "sha256:",
                    String(repeating: "a", count: 57) + "sha256:"] {
            #expect(throws: IntegrityError.self) { try Digest(parsing: bad) }
            #expect(throws: IntegrityError.self) { try Digest(parsing: bad, allowBareHex: true) }
        }
    }

    @Test("the one-pass path check agrees with the rule-by-rule check", arguments: [
        "a", "a/b", "...", ".a/a.", "a/.../b", String(repeating: "x", count: 255), "a b/c~d",
        ".", "..", "a/./b", "a/../b", "a//b", "/a", "a/", "", String(repeating: "x", count: 256), "a\\b", "a\tb",
        "a\u{7F}b", "é", "e\u{301}", "a\u{85}b",
    ])
    func pathCheck(path: String) {
        // Built without the one-pass check's help: a path that is not ASCII always takes the rule-by-rule way,
        // so every ASCII verdict is compared with the rules' own expectations below.
        let problem = ManifestPath.problem(with: path)
        let validByRules = !path.isEmpty && !path.hasPrefix("/") && !path.utf8.contains(UInt8(ascii: "\\"))
            && !path.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
            && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
                !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= 255
            }
            && ManifestPath.isNFC(path)
        #expect((problem == nil) == validByRules, "\(path.debugDescription): \(problem ?? "valid")")
    }

    @Test("an import's path comparisons give the order of the absolute paths, files of one folder or not")
    func scannedPathOrder() throws {
        let directory = TemporaryDirectory()
        for name in ["a/x", "a/y", "a.b", "a/x.1", "b/c/d", "ab", "é/1"] { directory.write("models/" + name, [1]) }
        let files = try DirectoryWalker().entries(under: directory.path + "/models").map { ScannedFile($0) }
        let paths = files.map(\.absolutePath)
        // Walked folder by folder in byte order, then sorted where `a.b` comes before the folder `a`'s files.
        #expect(files.map(\.relativePath) == ["a.b", "a/x", "a/x.1", "a/y", "ab", "b/c/d", "é/1"])
        for (left, right) in zip(files, files.dropFirst()) {
            #expect(left.pathPrecedes(right) == left.absolutePath.utf8Precedes(right.absolutePath))
        }
        for file in files {
            for other in paths + [directory.path, directory.path + "/models/a", "", "/", paths[0] + "z"] {
                let expected = file.absolutePath == other ? 0 : file.absolutePath.utf8Precedes(other) ? -1 : 1
                #expect(file.comparePath(with: other) == expected, "\(file.absolutePath) vs \(other)")
            }
        }
    }
}
