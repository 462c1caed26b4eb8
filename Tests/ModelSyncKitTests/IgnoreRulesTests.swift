@testable import ModelSyncKit
import Foundation
import Testing

@Suite("gitignore patterns for the models folder")
struct IgnoreRulesTests {
    struct Case: Sendable, CustomStringConvertible {
        let rules: String
        let path: String
        let excluded: Bool
        var description: String { "\(rules.debugDescription) on \(path)" }
    }

    static let cases: [Case] = [
        Case(rules: "*.tmp", path: "a.tmp", excluded: true),
        Case(rules: "*.tmp", path: "deep/er/a.tmp", excluded: true),
        Case(rules: "*.tmp", path: "a.tmp.bin", excluded: false),
        Case(rules: "# comment\n\n*.log", path: "x.log", excluded: true),
        Case(rules: "\\#keep", path: "#keep", excluded: true),
        Case(rules: "/top.bin", path: "top.bin", excluded: true),
        Case(rules: "/top.bin", path: "sub/top.bin", excluded: false),
        Case(rules: "sub/a.bin", path: "sub/a.bin", excluded: true),
        Case(rules: "sub/a.bin", path: "x/sub/a.bin", excluded: false),
        Case(rules: "logs/", path: "logs/day1.txt", excluded: true),
        Case(rules: "logs/", path: "a/logs/day1.txt", excluded: true),
        Case(rules: "logs/", path: "logs", excluded: false),  // a file named logs: the pattern is for folders
        Case(rules: "cache", path: "cache/x/y.bin", excluded: true),
        Case(rules: "**/ckpt/*.pt", path: "a/b/ckpt/e1.pt", excluded: true),
        Case(rules: "**/ckpt/*.pt", path: "ckpt/e1.pt", excluded: true),
        Case(rules: "a/**/z.bin", path: "a/z.bin", excluded: true),
        Case(rules: "a/**/z.bin", path: "a/b/c/z.bin", excluded: true),
        Case(rules: "a/**", path: "a/b/c", excluded: true),
        Case(rules: "file?.bin", path: "file1.bin", excluded: true),
        Case(rules: "file[0-4].bin", path: "file5.bin", excluded: false),
        Case(rules: "*.bin\n!keep.bin", path: "keep.bin", excluded: false),
        Case(rules: "*.bin\n!keep.bin", path: "drop.bin", excluded: true),
        Case(rules: "!keep.bin\n*.bin", path: "keep.bin", excluded: true),  // the last match wins
        Case(rules: "out/\n!out/keep.bin", path: "out/keep.bin", excluded: true),  // as git: no re-include under an excluded folder
        Case(rules: "trailing.bin   ", path: "trailing.bin", excluded: true),
        Case(rules: "space\\ ", path: "space ", excluded: true),
        Case(rules: "*.bin\r", path: "crlf.bin", excluded: true),
    ]

    @Test("a pattern excludes what git would", arguments: cases)
    func matching(_ example: Case) {
        #expect((IgnoreRules(parsing: example.rules).excludingRule(for: example.path) != nil) == example.excluded)
    }

    @Test("secrets are left out by default, the ignore file can re-include one, and the ignore file never travels")
    func builtIns() throws {
        let directory = TemporaryDirectory()
        let none = try ModelSetFilter(root: directory.path)
        for secret in [".env", ".env.production", "keys/id_rsa", "ssh/id_ed25519", "tls/server.pem", "api.key",
                       "cert.p12", ".netrc", "sub/.git-credentials"] {
            #expect(none.exclusion(for: secret)?.isSecret == true, "\(secret)")
        }
        for kept in ["model.onnx", "env.json", "id_rsa.pub", "keys.json", "environment/model.bin"] {
            #expect(none.exclusion(for: kept) == nil, "\(kept)")
        }
        try Data("!config.key\n*.tmp\n".utf8).write(to: URL(fileURLWithPath: directory.path + "/.modelsyncignore"))
        let filter = try ModelSetFilter(root: directory.path)
        #expect(filter.exclusion(for: "config.key") == nil)
        #expect(filter.exclusion(for: "x.tmp") == ModelSetExclusion(path: "x.tmp", pattern: "*.tmp", isSecret: false))
        #expect(filter.exclusion(for: ".modelsyncignore")?.isSecret == false)
        #expect(filter.exclusion(for: ".env")?.isSecret == true)
    }

    @Test("one matcher over a whole walk remembers folder verdicts and agrees with matching each path alone")
    func matcherAgrees() throws {
        let directory = TemporaryDirectory()
        try Data("out/\n!out/keep.bin\n*.tmp\n/anchored.bin\n".utf8)
            .write(to: URL(fileURLWithPath: directory.path + "/.modelsyncignore"))
        let filter = try ModelSetFilter(root: directory.path)
        var matcher = filter.matcher()
        let paths = ["anchored.bin", "a/anchored.bin", "in/a.bin", "in/b.tmp", "out/a.bin", "out/keep.bin",
                     "out/deeper/x.bin", "x/out/y.bin", "x/.env", "x/y/model.onnx", "x/y/z.pem", ".modelsyncignore"]
        for path in paths + paths {
            #expect(matcher.exclusion(for: path) == filter.exclusion(for: path), "\(path)")
        }
        #expect(paths.filter { filter.exclusion(for: $0) == nil } == ["a/anchored.bin", "in/a.bin", "x/y/model.onnx"])
    }

    @Test("an ignore file that is not UTF-8 text is refused, naming it")
    func badIgnoreFile() throws {
        let directory = TemporaryDirectory()
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: directory.path + "/.modelsyncignore"))
        #expect {
            _ = try ModelSetFilter(root: directory.path)
        } throws: { error in
            (error as? UsageError)?.message.contains(".modelsyncignore") == true
        }
    }
}
