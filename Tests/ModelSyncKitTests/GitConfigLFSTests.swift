import Testing
@testable import ModelSyncKit

@Suite("git.lfs, git.lfs_url, git.lfs_concurrency and git.username")
struct GitConfigLFSTests {
    static func parse(_ git: String) throws -> Config {
        try Config.parse(yaml: "model_sync:\n  git:\n" + git, file: "bot.yaml", environment: [:])
    }

    @Test("defaults: auto, derived endpoint, 8 transfers, x-access-token")
    func defaults() throws {
        let config = try Self.parse("    token_env: TOKEN\n")
        #expect(config.git.lfs == .auto)
        #expect(config.git.lfsURL == nil)
        #expect(config.git.lfsConcurrency == 8)
        #expect(config.git.username == nil)
        #expect(GitCredentials(token: "t").basicUser == "x-access-token")
    }

    @Test("every key is read")
    func everyKey() throws {
        let config = try Self.parse("""
                lfs: true
                lfs_url: https://lfs.example.com/org/models
                lfs_concurrency: 16
                username: _jwt

            """)
        #expect(config.git.lfs == .on)
        #expect(config.git.lfsURL == "https://lfs.example.com/org/models")
        #expect(config.git.lfsConcurrency == 16)
        #expect(config.git.username == "_jwt")
        #expect(try Self.parse("    lfs: false\n").git.lfs == .off)
        #expect(try Self.parse("    lfs: AUTO\n").git.lfs == .auto)
        #expect(try Self.parse("    lfs: off\n").git.lfs == .off)
        #expect(try Self.parse("    lfs: on\n").git.lfs == .on)
        #expect(GitCredentials(token: "t", username: "_jwt").basicUser == "_jwt")
    }

    @Test("bad values name the key and the line (exit 2)")
    func badValues() throws {
        let cases: [(String, String, String)] = [
            ("    lfs: sometimes\n", "model_sync.git.lfs", "expected one of auto, true, false, on, off"),
            ("    lfs_url: ftp://h/x\n", "model_sync.git.lfs_url", "expected an http or https URL"),
            ("    lfs_url: http://lfs.example.com/x\n", "model_sync.git.lfs_url", "plain http:// to another machine"),
            ("    lfs_concurrency: 0\n", "model_sync.git.lfs_concurrency", "expected an integer ≥ 1 and ≤ 64"),
            ("    lfs_concurrency: 65\n", "model_sync.git.lfs_concurrency", "expected an integer ≥ 1 and ≤ 64"),
            ("    username: \"\"\n", "model_sync.git.username", "expected a non-empty string"),
            ("    lfs_url: https://_jwt:secret@lfs.example.com/o/r\n", "model_sync.git.lfs_url", "credentials in the URL"),
            ("    lfs_uri: https://h/x\n", "model_sync.git.lfs_uri", "unknown key"),
        ]
        for (yaml, key, reason) in cases {
            let error = #expect(throws: ConfigError.self, "\(yaml)") { try Self.parse(yaml) }
            #expect(error?.key == key, "\(yaml): \(error?.message ?? "")")
            #expect(error?.line == 3, "\(yaml)")
            #expect(error?.message.contains(reason) == true, "\(yaml): \(error?.message ?? "")")
            #expect(error?.category.exitCode == 2)
        }
        // Plain http is fine to this machine, or when allowed.
        #expect(try Self.parse("    lfs_url: http://127.0.0.1:9/x\n").git.lfsURL == "http://127.0.0.1:9/x")
        #expect(try Self.parse("    allow_insecure_http: true\n    lfs_url: http://lfs.lan/x\n").git.lfsURL == "http://lfs.lan/x")
    }
}
