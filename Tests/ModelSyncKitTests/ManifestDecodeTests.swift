import Testing
@testable import ModelSyncKit

/// One way a manifest can be wrong, and the exact message the strict reader must give for it.
struct RejectedManifest: Sendable, CustomTestStringConvertible {
    let rule: String
    let bytes: [UInt8]
    let message: String

    init(_ rule: String, _ text: String, _ message: String) {
        self.init(rule, Array(text.utf8), message)
    }

    init(_ rule: String, _ bytes: [UInt8], _ message: String) {
        self.rule = rule
        self.bytes = bytes
        self.message = message
    }

    var testDescription: String { rule }
}

private let emptyDigest = "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
private let schema = "\"model-sync.manifest.v1\""

/// A manifest document around already-encoded file entries.
private func document(_ files: String...) -> String {
    "{\"files\":[\(files.joined(separator: ","))],\"schema\":\(schema)}"
}

/// One file entry; each argument is a JSON literal (`path` must carry its quotes).
private func file(_ path: String, mode: String = "\"0644\"", size: String = "0", digest: String = emptyDigest) -> String {
    "{\"digest\":\(digest),\"mode\":\(mode),\"path\":\(path),\"size\":\(size)}"
}

private let notCanonical = "manifest is not in canonical form (RFC 8785)"

private let rejectedManifests: [RejectedManifest] = [
    // Not JSON at all.
    RejectedManifest("truncated JSON", "{\"files\":[", "manifest is not valid JSON: unexpected end of input at byte 10"),
    RejectedManifest("empty input", "", "manifest is not valid JSON: unexpected end of input at byte 0"),
    RejectedManifest("duplicate key", "{\"files\":[],\"files\":[],\"schema\":\(schema)}",
                     "manifest is not valid JSON: duplicate key \"files\" at byte 12"),
    RejectedManifest("duplicate key inside an entry",
                     document("{\"digest\":\(emptyDigest),\"mode\":\"0644\",\"path\":\"a\",\"path\":\"b\",\"size\":0}"),
                     "manifest is not valid JSON: duplicate key \"path\" at byte 119"),
    RejectedManifest("invalid UTF-8", [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D],
                     "manifest is not valid JSON: invalid UTF-8 in a string at byte 1"),
    RejectedManifest("not an object", "[]", "manifest is not a JSON object (got an array)"),
    // Fields and schema.
    RejectedManifest("missing schema", "{\"files\":[]}", "manifest is missing the field \"schema\""),
    RejectedManifest("schema not a string", "{\"files\":[],\"schema\":1}",
                     "manifest field \"schema\" must be a string, got 1"),
    RejectedManifest("unknown schema version", "{\"files\":[],\"schema\":\"model-sync.manifest.v2\"}",
                     "manifest schema \"model-sync.manifest.v2\" is not understood; this model-sync reads \"model-sync.manifest.v1\""),
    RejectedManifest("unknown top-level field", "{\"created\":\"2024-05-01\",\"files\":[],\"schema\":\(schema)}",
                     "manifest has an unknown field \"created\""),
    RejectedManifest("missing files", "{\"schema\":\(schema)}", "manifest is missing the field \"files\""),
    RejectedManifest("files not an array", "{\"files\":{},\"schema\":\(schema)}",
                     "manifest field \"files\" must be an array, got an object"),
    RejectedManifest("entry not an object", document("\"a\""), "manifest files[0] must be an object, got \"a\""),
    RejectedManifest("unknown entry field",
                     document("{\"digest\":\(emptyDigest),\"mode\":\"0644\",\"mtime\":1,\"path\":\"a\",\"size\":0}"),
                     "manifest files[0] (\"a\") has an unknown field \"mtime\""),
    RejectedManifest("missing entry field", document("{\"digest\":\(emptyDigest),\"mode\":\"0644\",\"path\":\"a\"}"),
                     "manifest files[0] (\"a\") is missing the field \"size\""),
    // Paths.
    RejectedManifest("path not a string", document(file("7")), "manifest files[0]: path must be a string, got 7"),
    RejectedManifest("absolute path", document(file("\"/etc/passwd\"")),
                     "manifest files[0]: path \"/etc/passwd\" is absolute"),
    RejectedManifest("dot-dot component", document(file("\"a\""), file("\"b/../../etc\"")),
                     "manifest files[1]: path \"b/../../etc\" has a \"..\" component"),
    RejectedManifest("dot component", document(file("\"./a\"")), "manifest files[0]: path \"./a\" has a \".\" component"),
    RejectedManifest("empty component", document(file("\"a//b\"")),
                     "manifest files[0]: path \"a//b\" has an empty component"),
    RejectedManifest("trailing slash", document(file("\"a/\"")), "manifest files[0]: path \"a/\" has an empty component"),
    RejectedManifest("empty path", document(file("\"\"")), "manifest files[0]: path \"\" is empty"),
    RejectedManifest("backslash", document(file(#""a\\b""#)), #"manifest files[0]: path "a\\b" contains a backslash"#),
    RejectedManifest("NUL character", document(file(#""a\u0000b""#)),
                     #"manifest files[0]: path "a\u0000b" contains a NUL character"#),
    RejectedManifest("control character", document(file(#""a\nb""#)),
                     #"manifest files[0]: path "a\nb" contains the control character U+000A"#),
    RejectedManifest("DEL character", document(file("\"a\u{7F}b\"")),
                     #"manifest files[0]: path "a\u007fb" contains the control character U+007F"#),
    RejectedManifest("path not in NFC", document(file("\"e\u{301}.bin\"")),
                     "manifest files[0]: path \"e\u{301}.bin\" is not in Unicode normalization form C (NFC)"),
    RejectedManifest("duplicate path", document(file("\"a\""), file("\"a\"")), "manifest has the path \"a\" more than once"),
    RejectedManifest("file and directory", document(file("\"a\""), file("\"a/b\"")),
                     "manifest path \"a\" is both a file and a directory (of \"a/b\")"),
    RejectedManifest("files not sorted", document(file("\"b\""), file("\"a\"")),
                     "manifest files are not sorted bytewise by path: \"b\" comes before \"a\""),
    RejectedManifest("files in UTF-16 rather than bytewise order", document(file("\"😀\""), file("\"\u{FF21}\"")),
                     "manifest files are not sorted bytewise by path: \"😀\" comes before \"\u{FF21}\""),
    // Mode, size, digest.
    RejectedManifest("mode 0777", document(file("\"a\"", mode: "\"0777\"")),
                     "manifest files[0] (\"a\"): mode must be \"0644\" or \"0755\", got \"0777\""),
    RejectedManifest("mode as a number", document(file("\"a\"", mode: "420")),
                     "manifest files[0] (\"a\"): mode must be \"0644\" or \"0755\", got 420"),
    RejectedManifest("negative size", document(file("\"a\"", size: "-1")),
                     "manifest files[0] (\"a\"): size must be a non-negative integer no greater than 9007199254740991, got -1"),
    RejectedManifest("fractional size", document(file("\"a\"", size: "1.5")),
                     "manifest files[0] (\"a\"): size must be a non-negative integer no greater than 9007199254740991, got 1.5"),
    RejectedManifest("size with an exponent", document(file("\"a\"", size: "1e3")),
                     "manifest files[0] (\"a\"): size must be a non-negative integer no greater than 9007199254740991, got 1e3"),
    RejectedManifest("size beyond 2^53-1", document(file("\"a\"", size: "9007199254740992")),
                     "manifest files[0] (\"a\"): size must be a non-negative integer no greater than 9007199254740991, got 9007199254740992"),
    RejectedManifest("size as a string", document(file("\"a\"", size: "\"3\"")),
                     "manifest files[0] (\"a\"): size must be a non-negative integer no greater than 9007199254740991, got \"3\""),
    RejectedManifest("uppercase digest", document(file("\"a\"", digest: "\"sha256:" + String(repeating: "A", count: 64) + "\"")),
                     "manifest files[0] (\"a\"): digest must be \"sha256:\" followed by 64 lowercase hex digits, got \"sha256:"
                        + String(repeating: "A", count: 64) + "\""),
    RejectedManifest("digest without algorithm", document(file("\"a\"", digest: "\"" + String(repeating: "0", count: 64) + "\"")),
                     "manifest files[0] (\"a\"): digest must be \"sha256:\" followed by 64 lowercase hex digits, got \""
                        + String(repeating: "0", count: 64) + "\""),
    // Valid content, non-canonical bytes.
    RejectedManifest("whitespace", "{ \"files\": [], \"schema\": \(schema) }", notCanonical),
    RejectedManifest("trailing newline", document() + "\n", notCanonical),
    RejectedManifest("keys out of order", "{\"schema\":\(schema),\"files\":[]}", notCanonical),
    RejectedManifest("entry keys out of order",
                     document("{\"path\":\"a\",\"digest\":\(emptyDigest),\"mode\":\"0644\",\"size\":0}"), notCanonical),
    RejectedManifest("escaped slash", document(file(#""a\/b""#)), notCanonical),
    RejectedManifest("escaped non-ASCII character", document(file(#""\u00e9""#)), notCanonical),
    RejectedManifest("escaped ASCII letter", document(file(#""\u0061""#)), notCanonical),
]

@Suite("Manifest strict reader")
struct ManifestDecodeTests {
    @Test("every rejected form gets its own exact message", arguments: rejectedManifests)
    func rejects(_ row: RejectedManifest) {
        do {
            let manifest = try Manifest.decode(row.bytes)
            Issue.record("accepted \(row.rule): \(manifest.files)")
        } catch {
            #expect(error.message == row.message)
            #expect(error.code == .invalidManifest)
            #expect(error.category == .integrity)
        }
    }

    @Test("the helpers that build rejected rows make a valid manifest when nothing is wrong")
    func baselineIsValid() throws {
        let twelve = SHA256.hash(Array("twelve bytes".utf8))
        let manifest = try Manifest.decode(Array(document(file("\"a\""), file("\"b/c\"", mode: "\"0755\"", size: "12",
                                                                              digest: "\"\(twelve)\"")).utf8))
        #expect(manifest.files == [
            ManifestEntry(path: "a", size: 0, digest: .empty, mode: .regular),
            ManifestEntry(path: "b/c", size: 12, digest: twelve, mode: .executable),
        ])
    }

    @Test("an unknown schema tells the user to upgrade")
    func unknownSchemaHint() {
        do {
            _ = try Manifest.decode(Array("{\"files\":[],\"schema\":\"model-sync.manifest.v2\"}".utf8))
            Issue.record("accepted a v2 manifest")
        } catch {
            #expect(error.hint == "the manifest was written by a newer model-sync: upgrade model-sync to read it")
        }
    }
}
