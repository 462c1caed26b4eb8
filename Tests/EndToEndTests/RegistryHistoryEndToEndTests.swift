import Foundation
import Testing

@Suite("a registry whose history was rewritten, and a working clone with local edits", .serialized)
struct RegistryHistoryEndToEndTests {
    /// The commit the client's `repo_dir` has on `main`.
    func clientBranch(_ fixture: RegistryFixture) -> String {
        fixture.git(["rev-parse", "refs/heads/main"], in: "client/repo")
    }

    @Test("after a force-push (squash, then a rewind to an older commit) the bare client follows the channel")
    func clientFollowsRewrittenHistory() throws {
        let fixture = RegistryFixture(files: 3)
        let first = try fixture.publish()
        #expect(first.status == 0, "\(first.stderr)")
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(fixture.git(["rev-parse", "--is-bare-repository"], in: "client/repo") == "true")

        // The history squashed to one new root commit, as docs/registry-layout.md shows.
        fixture.git(["checkout", "-q", "--orphan", "squashed"], in: "publisher/repo")
        fixture.git(["commit", "-q", "-m", "registry squashed"], in: "publisher/repo")
        fixture.git(["push", "-q", "--force", "origin", "squashed:main"], in: "publisher/repo")
        fixture.git(["checkout", "-q", "-B", "main", "origin/main"], in: "publisher/repo")
        let squashed = fixture.git(["rev-parse", "main"])
        let same = try fixture.pull()
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.json["result"] as? String == "up-to-date")
        #expect(clientBranch(fixture) == squashed)

        // A new set on the rewritten history, then the registry rewound to the squashed commit.
        fixture.sandbox.write("publisher/models/set/file0.bin", Array("new weights".utf8))
        let second = try fixture.publish()
        #expect(second.status == 0, "\(second.stderr)")
        let newer = try fixture.pull()
        #expect(newer.status == 0, "\(newer.stderr)")
        #expect(newer.json["manifest"] as? String == second.json["manifest"] as? String)
        fixture.git(["push", "-q", "--force", "origin", "\(squashed):main"], in: "publisher/repo")
        let rewound = try fixture.pull()
        #expect(rewound.status == 0, "\(rewound.stderr)")
        #expect(rewound.json["manifest"] as? String == first.json["manifest"] as? String)
        #expect(clientBranch(fixture) == squashed)
        #expect(fixture.sandbox.read("client/models/set/file0.bin") != Array("new weights".utf8))
    }

    @Test("a publisher whose branch diverged is refused with exit 2 and a hint that works on its repo_dir")
    func publisherDivergedHint() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        // Someone else rewrites the registry's history from another clone.
        #expect(gitCLI(["clone", "-q", "registry.git", "other"], in: fixture.sandbox.path).status == 0)
        fixture.git(["commit", "-q", "--amend", "-m", "rewritten"], in: "other")
        fixture.git(["push", "-q", "--force", "origin", "main"], in: "other")
        fixture.sandbox.write("publisher/models/set/file0.bin", Array("changed".utf8))
        let refused = try fixture.publish()
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("has diverged from origin/main (the registry's history was rewritten)"))
        let hint = try #require(refused.stderr.split(separator: "\n").first { $0.contains("git -C") })
        let command = try #require(hint.range(of: "git -C ")).lowerBound
        #expect(shell(String(hint[command...])) == 0, "\(hint)")
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
    }

    @Test("a working-clone client with local edits in the way is refused (exit 2, naming them) before anything moves")
    func workingCloneWithLocalEdits() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        #expect(gitCLI(["clone", "-q", "registry.git", "client/repo"], in: fixture.sandbox.path).status == 0)
        #expect(try fixture.pull().status == 0)
        let before = clientBranch(fixture)
        fixture.sandbox.write("client/repo/models/channels/latest", Array("edited by hand\n".utf8))

        fixture.sandbox.write("publisher/models/set/file0.bin", Array("changed".utf8))
        #expect(try fixture.publish().status == 0)
        let refused = try fixture.pull()
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("has local changes that updating it to origin/main would overwrite: models/channels/latest; nothing was changed"),
                "\(refused.stderr)")
        #expect(clientBranch(fixture) == before)
        #expect(fixture.git(["symbolic-ref", "HEAD"], in: "client/repo") == "refs/heads/main")
        #expect(fixture.sandbox.read("client/repo/models/channels/latest") == Array("edited by hand\n".utf8))

        // An edit the update does not touch is no obstacle; discarding the other one lets the pull through.
        fixture.sandbox.write("client/repo/NOTES.txt", Array("local notes\n".utf8))
        fixture.git(["checkout", "--", "models/channels/latest"], in: "client/repo")
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(clientBranch(fixture) == fixture.git(["rev-parse", "main"]))
        #expect(fixture.git(["status", "--porcelain"], in: "client/repo") == "?? NOTES.txt")
    }
}
