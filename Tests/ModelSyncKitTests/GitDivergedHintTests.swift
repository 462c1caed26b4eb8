import Foundation
import Testing
@testable import ModelSyncKit

@Suite("a diverged registry branch: the hint works on the repo_dir as it is")
struct GitDivergedHintTests {
    @Test("a bare repo_dir that diverged gets an update-ref hint that works, then synchronizes")
    func bareHint() throws {
        let directory = TemporaryDirectory("diverged-hint")
        let root = directory.path
        #expect(gitCLI(["init", "-q", "--bare", "-b", "main", "registry.git"], in: root).status == 0)
        #expect(gitCLI(["clone", "-q", "registry.git", "work"], in: root).status == 0)
        try Data("one\n".utf8).write(to: URL(fileURLWithPath: root + "/work/a.txt"))
        #expect(gitCLI(["add", "a.txt"], in: root + "/work").status == 0)
        #expect(gitCLI(["commit", "-q", "-m", "one"], in: root + "/work").status == 0)
        #expect(gitCLI(["push", "-q", "origin", "main"], in: root + "/work").status == 0)
        #expect(gitCLI(["clone", "-q", "--bare", "registry.git", "bare"], in: root).status == 0)
        #expect(gitCLI(["commit", "-q", "--amend", "-m", "rewritten"], in: root + "/work").status == 0)
        #expect(gitCLI(["push", "-q", "--force", "origin", "main"], in: root + "/work").status == 0)

        var config = Config()
        config.repoDir = root + "/bare"
        let registry = try GitRegistry.open(config: config, environment: [:])
        let error = #expect(throws: UsageError.self) { try registry.synchronize() }
        let hint = try #require(error?.hint)
        #expect(hint.contains("update-ref refs/heads/main refs/remotes/origin/main"))
        let command = String(hint[try #require(hint.range(of: "git -C ")).lowerBound...])
        let parts = command.split(separator: " ").map(String.init)
        #expect(gitCLI(Array(parts.dropFirst()), in: root).status == 0, "\(command)")
        let tip = gitCLI(["rev-parse", "main"], in: root + "/registry.git").output
        #expect(try registry.synchronize()?.description == tip)
        // A reader never needs the hint: it follows the rewritten branch.
        #expect(try registry.synchronize(following: true)?.description == tip)
    }
}
