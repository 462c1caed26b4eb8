import Testing
@testable import ModelSyncKit

@Suite("Manifest path rules")
struct ManifestPathTests {
    @Test("ordinary relative paths are valid, spaces, quotes, dots inside names and non-ASCII included",
          arguments: ["btc/model.onnx", "a", "say \"hi\".txt", "..hidden/x", "a..b", ".env", "é/😀 data/v1.2.bin", "a/b/c/d"])
    func validPaths(_ path: String) throws {
        #expect(ManifestPath.problem(with: path) == nil)
        try Manifest.validate(path: path)
    }

    @Test("each rule names the path in its message")
    func problems() {
        let cases: [(String, String)] = [
            ("", #"path "" is empty"#),
            ("/abs", #"path "/abs" is absolute"#),
            ("a/..", #"path "a/.." has a ".." component"#),
            ("./a", #"path "./a" has a "." component"#),
            ("a/./b", #"path "a/./b" has a "." component"#),
            ("a//b", #"path "a//b" has an empty component"#),
            ("a/", #"path "a/" has an empty component"#),
            (#"dir\file"#, #"path "dir\\file" contains a backslash"#),
            ("a\u{0}b", #"path "a\u0000b" contains a NUL character"#),
            ("a\u{1B}[31m", #"path "a\u001b[31m" contains the control character U+001B"#),
            ("a\u{85}b", #"path "a\u0085b" contains the control character U+0085"#),
            ("cafe\u{301}", "path \"cafe\u{301}\" is not in Unicode normalization form C (NFC)"),
        ]
        for (path, message) in cases {
            #expect(ManifestPath.problem(with: path) == message)
            do {
                try Manifest.validate(path: path)
                Issue.record("accepted \(path.debugDescription)")
            } catch {
                #expect(error.message == message)
                #expect(error.code == .invalidManifest)
            }
        }
    }

    @Test("names read from the filesystem are normalized to NFC, compared by bytes")
    func normalization() {
        let decomposed = "cafe\u{301}/mode\u{300}le.bin"
        let normalized = ManifestPath.normalizedFromFilesystem(decomposed)
        #expect(Array(normalized.utf8) == Array("caf\u{E9}/mod\u{E8}le.bin".utf8))
        #expect(ManifestPath.isNFC(normalized))
        // Swift's == says the two spellings are equal; the manifest rules look at bytes and do not.
        #expect(decomposed == normalized)
        #expect(!ManifestPath.isNFC(decomposed))
        #expect(ManifestPath.problem(with: normalized) == nil)
    }

    @Test("bytewise order compares UTF-8 bytes")
    func bytewiseOrder() {
        #expect(ManifestPath.bytewiseLess("B", "a"))
        #expect(ManifestPath.bytewiseLess("a", "é"))
        #expect(ManifestPath.bytewiseLess("\u{FF21}", "😀"))
        #expect(!ManifestPath.bytewiseLess("a", "a"))
    }

    @Test("long paths are cut in messages")
    func longPathsAreCut() {
        let path = "/" + String(repeating: "x", count: 500)
        let message = ManifestPath.problem(with: path)
        #expect(message == "path \"/" + String(repeating: "x", count: 199) + "\"… is absolute")
    }
}
