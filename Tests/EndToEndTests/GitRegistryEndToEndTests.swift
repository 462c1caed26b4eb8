#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A bare registry, a publisher (models folder, store, registry clone) and a client that clones on first pull.
struct RegistryFixture {
    let sandbox: Sandbox
    var registry: String { sandbox.path + "/registry.git" }

    init(sandbox: Sandbox = Sandbox(), files: Int = 20, extraPublisherYAML: String = "", extraClientYAML: String = "",
         remoteURL: String? = nil) {
        self.sandbox = sandbox
        #expect(gitCLI(["init", "-q", "--bare", "-b", "main", "registry.git"], in: sandbox.path).status == 0)
        #expect(gitCLI(["clone", "-q", "registry.git", "publisher/repo"], in: sandbox.path).status == 0)
        for index in 0..<files {
            sandbox.write("publisher/models/set/file\(index).bin", pseudoRandomBytes(count: 20_000 + index, seed: UInt64(index + 1)))
        }
        let url = remoteURL ?? "file://\(sandbox.path)/registry.git"
        sandbox.write("publisher.yaml", Array("""
            model_sync:
              models_dir: publisher/models
              store_dir: publisher/store
              repo_dir: publisher/repo
              git:
                author_name: Publisher
                author_email: publisher@example.invalid
            \(extraPublisherYAML)
            """.utf8))
        sandbox.write("client.yaml", Array("""
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "\(url)"
            \(extraClientYAML)
            """.utf8))
    }

    func publish(_ extra: [String] = []) throws -> CLI.Result {
        try sandbox.cli.run(["publish", "--config", "publisher.yaml", "--json"] + extra)
    }

    func pull(_ extra: [String] = []) throws -> CLI.Result {
        try sandbox.cli.run(["pull", "--config", "client.yaml", "--json"] + extra)
    }

    @discardableResult
    func git(_ arguments: [String], in relative: String = "registry.git") -> String {
        let result = gitCLI(arguments, in: sandbox.path + "/" + relative)
        #expect(result.status == 0, "git \(arguments): \(result.output)")
        return result.output
    }
}

@Suite("publish and pull through a git registry, run as a user would", .serialized)
struct GitRegistryEndToEndTests {
    @Test("publish leaves secrets and .modelsyncignore's patterns out of the set, warning about the secrets")
    func publishFiltersTheFolder() throws {
        let fixture = RegistryFixture(files: 2)
        fixture.sandbox.write("publisher/models/.env", Array("EXCHANGE_SECRET=hunter2\n".utf8))
        fixture.sandbox.write("publisher/models/keys/id_ed25519", Array("-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8))
        fixture.sandbox.write("publisher/models/scratch/epoch1.tmp", Array("scratch".utf8))
        fixture.sandbox.write("publisher/models/.modelsyncignore", Array("scratch/\n".utf8))
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["files"] as? Int == 2)
        #expect(published.stderr.contains("warning: .env was left out of the set"), "\(published.stderr)")
        #expect(published.stderr.contains("warning: keys/id_ed25519 was left out of the set"))
        #expect(!published.stderr.contains("scratch"), "the user's own patterns need no warning")
        let excluded = (published.json["excluded"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(excluded.sorted() == [".env", ".modelsyncignore", "keys/id_ed25519", "scratch/epoch1.tmp"])
        // Nothing of them reached the registry or the client.
        let tree = fixture.git(["ls-tree", "-r", "--name-only", "main"])
        #expect(!tree.contains(".env") && !tree.contains("id_ed25519"))
        #expect(gitCLI(["grep", "-q", "hunter2", "main"], in: fixture.registry).status != 0)
        #expect(try fixture.pull().status == 0)
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/models/.env"))
        #expect(FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/models/set/file1.bin"))
        // pack applies the same rule.
        let pack = try fixture.sandbox.cli.run(["pack", "--archive-path", fixture.sandbox.path + "/out.zip", "--models-dir", "publisher/models", "--json"])
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect((pack.json["excluded"] as? [[String: Any]])?.count == 4)
        #expect(pack.stderr.contains("warning: .env was left out of the set"))
    }

    @Test("a pulled set that fails its health check is rolled back (exit 6) and refused by later pulls until --force")
    func badSetIsRemembered() throws {
        let fixture = RegistryFixture(files: 3, extraClientYAML: """
              activation:
                health_check: "test ! -e $MODEL_SYNC_MODELS_DIR/set/broken"
            """)
        #expect(try fixture.publish().status == 0)
        let first = try fixture.pull()
        #expect(first.status == 0, "\(first.stderr)")
        let good = try #require(first.json["manifest"] as? String)

        fixture.sandbox.write("publisher/models/set/broken", Array("bad weights".utf8))
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let bad = try fixture.pull()
        #expect(bad.status == 6, "\(bad.stderr)")
        #expect(bad.json["result"] as? String == "rolled-back")
        #expect(bad.json["generation"] as? Int == 1)
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/models/set/broken"))

        // The next pull (a daemon's run, say) does not activate the known-bad set again, and says so
        // without failing: held back, exit 0, a warning.
        let refused = try fixture.pull()
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(refused.json["result"] as? String == "held-back")
        #expect(refused.json["generation"] as? Int == 1)
        #expect(refused.stderr.contains("warning: the latest manifest"))
        #expect(refused.stderr.contains("failed its health check"))
        let status = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        #expect((status.json["active"] as? [String: Any])?["manifest"] as? String == good)

        // --force tries it again (and the health check fails again).
        let forced = try fixture.pull(["--force"])
        #expect(forced.status == 6)
        #expect(forced.json["result"] as? String == "rolled-back")
    }

    @Test("rollback holds the set it left: pull reports held-back until another set is published or --force")
    func rollbackHolds() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        #expect(try fixture.pull().status == 0)
        fixture.sandbox.write("publisher/models/set/file0.bin", Array("v2".utf8))
        let v2 = try #require(try fixture.publish().json["manifest"] as? String)
        #expect(try fixture.pull().json["generation"] as? Int == 2)

        let rollback = try fixture.sandbox.cli.run(["rollback", "--config", "client.yaml", "--json"])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(rollback.json["generation"] as? Int == 1)
        for _ in 0..<2 {
            let held = try fixture.pull()
            #expect(held.status == 0, "\(held.stderr)")
            #expect(held.json["result"] as? String == "held-back")
            #expect(held.json["manifest"] as? String == v2)
            #expect(held.json["generation"] as? Int == 1)
            #expect(held.json["fetched_objects"] as? Int == 0)
            #expect(held.stderr.contains("rolled back from generation 2"))
        }
        // --force activates it again, and ends the hold.
        let forced = try fixture.pull(["--force"])
        #expect(forced.json["result"] as? String == "activated", "\(forced.stderr)")
        #expect(try fixture.pull().json["result"] as? String == "up-to-date")

        // Held again by a second rollback; a newly published set ends it.
        #expect(try fixture.sandbox.cli.run(["rollback", "--config", "client.yaml"]).status == 0)
        #expect(try fixture.pull().json["result"] as? String == "held-back")
        fixture.sandbox.write("publisher/models/set/file1.bin", Array("v3".utf8))
        let v3 = try #require(try fixture.publish().json["manifest"] as? String)
        let pulled = try fixture.pull()
        #expect(pulled.json["result"] as? String == "activated")
        #expect(pulled.json["manifest"] as? String == v3)
    }

    @Test("versions lists the channel's sets newest first with time, files, bytes and commit, marking active and held")
    func versionsListsHistory() throws {
        let fixture = RegistryFixture(files: 2)
        var published: [String] = []
        for version in 1...3 {
            if version > 1 { fixture.sandbox.write("publisher/models/set/file0.bin", Array("v\(version)".utf8)) }
            let result = try fixture.publish()
            published.append(try #require(result.json["manifest"] as? String))
            #expect(try fixture.pull().status == 0)
        }
        #expect(try fixture.sandbox.cli.run(["rollback", "--config", "client.yaml"]).status == 0)
        let listed = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let versions = try #require(listed.json["versions"] as? [[String: Any]])
        #expect(versions.compactMap { $0["manifest"] as? String } == published.reversed())
        let commits = fixture.git(["log", "--format=%H", "main"]).split(separator: "\n").map(String.init)
        #expect(versions.compactMap { $0["commit"] as? String } == Array(commits.prefix(3)))
        #expect(versions.map { $0["active"] as? Bool } == [false, true, false])
        #expect((versions.first?["held_back"] as? String)?.contains("rolled back from generation 3") == true)
        #expect(versions[1]["held_back"] is NSNull)
        #expect(versions.last?["files"] as? Int == 2)
        #expect(versions.last?["bytes"] as? Int == 40_001)
        #expect((versions.first?["time"] as? String)?.hasSuffix("Z") == true)
        // --limit, and the text form.
        let one = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--limit", "1"])
        #expect(one.stdout.split(separator: "\n").count == 1)
        #expect(one.stdout.contains(published[2]) && one.stdout.contains("(held)"))
    }

    @Test("pull --manifest activates a published set by digest prefix and holds the channel's; bad references exit 2")
    func pullChosenManifest() throws {
        let fixture = RegistryFixture(files: 2)
        let v1 = try #require(try fixture.publish().json["manifest"] as? String)
        fixture.sandbox.write("publisher/models/set/file0.bin", Array("v2".utf8))
        let v2 = try #require(try fixture.publish().json["manifest"] as? String)
        #expect(try fixture.pull().json["manifest"] as? String == v2)

        let prefix = String(v1.dropFirst("sha256:".count).prefix(10))
        let chosen = try fixture.pull(["--manifest", prefix])
        #expect(chosen.status == 0, "\(chosen.stderr)")
        #expect(chosen.json["result"] as? String == "activated")
        #expect(chosen.json["manifest"] as? String == v1)
        let next = try fixture.pull()
        #expect(next.json["result"] as? String == "held-back", "the daemon's next pull must not undo the choice")
        #expect(next.stderr.contains("pull --manifest chose"))

        for (reference, message) in [("zzzz", "not a manifest digest"), ("abc", "not a manifest digest"),
                                     (String(repeating: "0", count: 12), "no manifest published in the registry matches")] {
            let refused = try fixture.pull(["--manifest", reference])
            #expect(refused.status == 2, "\(reference): \(refused.stderr)")
            #expect(refused.stderr.contains(message), "\(refused.stderr)")
        }
    }

    @Test("pull --dry-run and status --remote say whether the client is behind and what it would fetch, changing nothing")
    func dryRun() throws {
        let fixture = RegistryFixture(files: 3)
        let v1 = try #require(try fixture.publish().json["manifest"] as? String)
        let plan = try fixture.pull(["--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.json["behind"] as? Bool == true)
        #expect(plan.json["manifest"] as? String == v1)
        #expect(plan.json["fetch_objects"] as? Int == 3)
        #expect(plan.json["fetch_bytes"] as? Int == 60_003)
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/models"))

        #expect(try fixture.pull().status == 0)
        fixture.sandbox.write("publisher/models/set/file0.bin", Array("changed".utf8))
        let v2 = try #require(try fixture.publish().json["manifest"] as? String)
        let status = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--remote", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let remote = try #require(status.json["remote"] as? [String: Any])
        #expect(remote["behind"] as? Bool == true)
        #expect(remote["manifest"] as? String == v2)
        #expect(remote["active"] as? String == v1)
        #expect(remote["fetch_objects"] as? Int == 1)
        #expect(remote["fetch_bytes"] as? Int == 7)
        #expect(try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"]).json["remote"] == nil)
        #expect(try fixture.pull().status == 0)
        let upToDate = try fixture.pull(["--dry-run"])
        #expect(upToDate.json["behind"] as? Bool == false)
        #expect(upToDate.json["fetch_objects"] as? Int == 0)
    }

    @Test("publish --dry-run says what would be uploaded and pushes nothing")
    func publishDryRun() throws {
        let fixture = RegistryFixture(files: 3)
        let plan = try fixture.publish(["--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.json["would_publish"] as? Bool == true)
        #expect(plan.json["new_objects"] as? Int == 3)
        #expect(plan.json["new_bytes"] as? Int == 60_003)
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0, "nothing was pushed")
        let published = try fixture.publish()
        #expect(published.json["manifest"] as? String == plan.json["manifest"] as? String)
        fixture.sandbox.write("publisher/models/set/file2.bin", Array("changed".utf8))
        let second = try fixture.publish(["--dry-run"])
        #expect(second.json["new_objects"] as? Int == 1)
        #expect(second.json["new_bytes"] as? Int == 7)
        let head = fixture.git(["rev-parse", "main"])
        #expect(try fixture.publish(["--dry-run"]).status == 0)
        #expect(fixture.git(["rev-parse", "main"]) == head)
    }

    @Test("a registry in the old plain layout is pulled as a set, and the first publish converts it keeping a README")
    func migratesOldLayout() throws {
        let fixture = RegistryFixture(files: 2)
        // The old script committed the model files themselves under repo_models_subdir.
        let old = fixture.sandbox.path + "/old"
        #expect(gitCLI(["clone", "-q", fixture.registry, old], in: fixture.sandbox.path).status == 0)
        for index in 0..<2 {
            fixture.sandbox.write("old/models/set/file\(index).bin", pseudoRandomBytes(count: 20_000 + index, seed: UInt64(index + 1)))
        }
        fixture.git(["add", "-A"], in: "old")
        fixture.git(["-c", "user.name=old", "-c", "user.email=old@example.invalid", "commit", "-q", "-m", "models"], in: "old")
        fixture.git(["push", "-q", "origin", "HEAD:main"], in: "old")

        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(fixture.sandbox.read("client/models/set/file1.bin") == pseudoRandomBytes(count: 20_001, seed: 2))
        let imported = try #require(pulled.json["manifest"] as? String)

        // The publisher's folder holds the same files: the first publish converts the registry to the same set.
        #expect(gitCLI(["pull", "-q", "origin", "main"], in: fixture.sandbox.path + "/publisher/repo").status == 0)
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["manifest"] as? String == imported)
        let tree = fixture.git(["ls-tree", "-r", "--name-only", "main"])
        #expect(!tree.contains("models/set/file0.bin"))
        #expect(tree.contains("models/README.md") && tree.contains("models/channels/latest"))
        #expect(fixture.git(["show", "main:models/README.md"]).contains("model-sync registry"))
        #expect(try fixture.pull().json["result"] as? String == "up-to-date")
    }

    @Test("v1 → pull → v2 with 1 of 20 files changed adds one blob, one manifest and the channel change → pull v2")
    func deltaPublishAndPull() throws {
        let fixture = RegistryFixture()
        let first = try fixture.publish()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.json["result"] as? String == "published")
        #expect(first.json["new_objects"] as? Int == 20)
        let v1 = try #require(first.json["manifest"] as? String)
        #expect(fixture.git(["rev-parse", "main"]) == first.json["commit"] as? String)

        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(pulled.json["manifest"] as? String == v1)
        #expect(pulled.json["fetched_objects"] as? Int == 20)
        #expect(fixture.sandbox.read("client/models/set/file3.bin") == pseudoRandomBytes(count: 20_003, seed: 4))

        let again = try fixture.publish()
        #expect(again.status == 0)
        #expect(again.json["result"] as? String == "up-to-date")
        #expect(again.json["commit"] is NSNull)

        fixture.sandbox.write("publisher/models/set/file7.bin", pseudoRandomBytes(count: 30_000, seed: 99))
        let second = try fixture.publish()
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.json["new_objects"] as? Int == 1)
        #expect(second.json["new_bytes"] as? Int == 30_000)
        let v2 = try #require(second.json["manifest"] as? String)
        let changed = fixture.git(["diff-tree", "-r", "--name-status", "main~1", "main"])
            .split(separator: "\n").map(String.init).sorted()
        let newBlob = try #require(fixture.git(["ls-tree", "-r", "--name-only", "main"]).split(separator: "\n")
            .first { !fixture.git(["ls-tree", "-r", "--name-only", "main~1"]).contains($0) && $0.contains("/objects/") })
        #expect(changed == ["A\t\(newBlob)", "A\tmodels/manifests/sha256/\(v2.dropFirst(7)).json", "M\tmodels/channels/latest"].sorted())
        #expect(fixture.git(["show", "main:models/channels/latest"]) == v2)
        let message = fixture.git(["log", "-1", "--format=%an <%ae>%n%B", "main"])
        #expect(message.hasPrefix("Publisher <publisher@example.invalid>\npublish \(v2)"))
        #expect(message.contains("files: 20, bytes: \(20 * 20_000 + 190 - 20_007 + 30_000)"))
        #expect(message.contains("new objects: 1, new bytes: 30000"))
        #expect(gitCLI(["fsck", "--strict", "--no-dangling"], in: fixture.registry).status == 0)
        #expect(fixture.git(["status", "--porcelain"], in: "publisher/repo").isEmpty)

        let secondPull = try fixture.pull()
        #expect(secondPull.status == 0, "\(secondPull.stderr)")
        #expect(secondPull.json["manifest"] as? String == v2)
        #expect(secondPull.json["generation"] as? Int == 2)
        #expect(secondPull.json["fetched_objects"] as? Int == 1)
        #expect(secondPull.json["fetched_bytes"] as? Int == 30_000)
        #expect(fixture.sandbox.read("client/models/set/file7.bin") == pseudoRandomBytes(count: 30_000, seed: 99))

        let nothing = try fixture.pull()
        #expect(nothing.status == 0)
        #expect(nothing.json["result"] as? String == "up-to-date")
        #expect(nothing.json["fetched_objects"] as? Int == 0)

        let log = try fixture.sandbox.cli.run(["log", "--config", "client.yaml", "--json"])
        let kinds = (log.json["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds.filter { $0 == "pull" }.count == 3)
        let publisherLog = try fixture.sandbox.cli.run(["log", "--config", "publisher.yaml", "--json"])
        #expect((publisherLog.json["events"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "publish" }.count == 2)
    }

    @Test("a blob tampered with in the registry fails the pull with exit 3 and leaves the active set alone")
    func tamperedBlob() throws {
        let fixture = RegistryFixture(files: 3)
        #expect(try fixture.publish().status == 0)
        let v1 = try fixture.pull()
        #expect(v1.status == 0)

        fixture.sandbox.write("publisher/models/set/file1.bin", pseudoRandomBytes(count: 5_000, seed: 7))
        #expect(try fixture.publish().status == 0)
        // Someone rewrites the new blob's content without changing its name.
        let path = try #require(fixture.git(["diff-tree", "-r", "--name-only", "main~1", "main"])
            .split(separator: "\n").map(String.init).first { $0.contains("/objects/") })
        let work = "publisher/repo"
        fixture.sandbox.write(work + "/" + path, pseudoRandomBytes(count: 5_000, seed: 8))
        fixture.git(["commit", "-qam", "tamper"], in: work)
        fixture.git(["push", "-q", "origin", "main"], in: work)

        let pulled = try fixture.pull()
        #expect(pulled.status == 3, "\(pulled.stdout)\(pulled.stderr)")
        #expect(pulled.stderr.contains("registry blob \(path) (set/file1.bin): content expected to be sha256:\(path.split(separator: "/").last!)"))
        let status = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        #expect((status.json["active"] as? [String: Any])?["manifest"] as? String == v1.json["manifest"] as? String)
        #expect(fixture.sandbox.read("client/models/set/file1.bin") == pseudoRandomBytes(count: 20_001, seed: 2))
    }

    @Test("a dirty registry worktree is refused with exit 2 listing the paths, unless --allow-dirty")
    func dirtyWorktree() throws {
        let fixture = RegistryFixture(files: 2)
        fixture.sandbox.write("publisher/repo/notes.txt", Array("draft".utf8))
        let refused = try fixture.publish()
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("error: the registry worktree \(fixture.sandbox.path)/publisher/repo has local changes: notes.txt\n"))
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0)
        let allowed = try fixture.publish(["--allow-dirty"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.json["result"] as? String == "published")
    }

    @Test("a commit made with the git CLI pointing channels/latest back is honoured by pull")
    func channelMovedBack() throws {
        let fixture = RegistryFixture(files: 2)
        let v1 = try fixture.publish().json["manifest"] as? String
        fixture.sandbox.write("publisher/models/set/file0.bin", pseudoRandomBytes(count: 100, seed: 5))
        let v2 = try fixture.publish().json["manifest"] as? String
        #expect(try fixture.pull().json["manifest"] as? String == v2)

        fixture.sandbox.write("publisher/repo/models/channels/latest", Array((v1! + "\n").utf8))
        fixture.git(["commit", "-qam", "back to v1: v2 misbehaves"], in: "publisher/repo")
        fixture.git(["push", "-q", "origin", "main"], in: "publisher/repo")
        let back = try fixture.pull()
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.json["manifest"] as? String == v1)
        #expect(back.json["result"] as? String == "activated")
        #expect(back.json["fetched_objects"] as? Int == 1) // the client never had v1's file0
        #expect(fixture.sandbox.read("client/models/set/file0.bin") == pseudoRandomBytes(count: 20_000, seed: 1))

        // And the publisher builds on that commit: publishing v2 again moves the channel forward.
        let republished = try fixture.publish()
        #expect(republished.json["result"] as? String == "published")
        #expect(republished.json["new_objects"] as? Int == 0)
    }

    @Test("empty registry, missing repo_dir, failed training: exit 2, 2 and 8, nothing published")
    func preconditions() throws {
        let fixture = RegistryFixture(files: 1, extraPublisherYAML: """
              publisher:
                train_before_push: true
                train_command: "echo training; exit 3"
            """)
        let empty = try fixture.pull()
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("error: the registry has no branch main yet: nothing was published"))

        let trained = try fixture.publish()
        #expect(trained.status == 8)
        #expect(trained.stderr.contains("publisher.train_command `echo training; exit 3` exited with status 3\n"))
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0)
        #expect(try fixture.publish(["--no-train"]).status == 0)

        fixture.sandbox.write("lost.yaml", Array("model_sync:\n  repo_dir: nowhere\n".utf8))
        let missing = try fixture.sandbox.cli.run(["pull", "--config", "lost.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("error: repo_dir \(fixture.sandbox.path)/nowhere does not exist"))
    }

    @Test("a training command past train_timeout_sec is stopped: exit 8, nothing published")
    func trainingTimeout() throws {
        let fixture = RegistryFixture(files: 1, extraPublisherYAML: """
              publisher:
                train_before_push: true
                train_command: "sleep 30"
                train_timeout_sec: 0.5
            """)
        let started = Date()
        let result = try fixture.publish()
        #expect(result.status == 8)
        #expect(result.stderr.contains("publisher.train_command `sleep 30` timed out"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status != 0)
    }

    @Test("a publisher whose branch has diverged from the registry's is refused with exit 2")
    func divergedBranch() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        // Someone commits in the publisher's clone without pushing, while the registry moves on elsewhere.
        fixture.git(["commit", "-q", "--allow-empty", "-m", "local only"], in: "publisher/repo")
        #expect(gitCLI(["clone", "-q", "registry.git", "other"], in: fixture.sandbox.path).status == 0)
        fixture.git(["commit", "-q", "--allow-empty", "-m", "elsewhere"], in: "other")
        fixture.git(["push", "-q", "origin", "main"], in: "other")
        let before = fixture.git(["rev-parse", "main"])
        fixture.sandbox.write("publisher/models/set/new.bin", [1, 2, 3])
        let result = try fixture.publish()
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("has diverged from origin/main"))
        #expect(fixture.git(["rev-parse", "main"]) == before)
    }

    @Test("gc --registry keeps the blobs of the last keep_manifests manifests, as an ordinary pushed commit")
    func registryGC() throws {
        let fixture = RegistryFixture(files: 2, extraPublisherYAML: "  registry: {keep_manifests: 2}\n")
        let v1 = try #require(try fixture.publish().json["manifest"] as? String)
        for seed in [50, 51] as [UInt64] {
            fixture.sandbox.write("publisher/models/set/file0.bin", pseudoRandomBytes(count: 1_000 + Int(seed), seed: seed))
            #expect(try fixture.publish().status == 0)
        }
        let dry = try fixture.sandbox.cli.run(["gc", "--registry", "--dry-run", "--config", "publisher.yaml", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.json["objects_removed"] as? Int == 1)
        #expect(dry.json["commit"] is NSNull)
        let gc = try fixture.sandbox.cli.run(["gc", "--registry", "--config", "publisher.yaml", "--json"])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.json["objects_removed"] as? Int == 1)
        #expect(gc.json["bytes_freed"] as? Int == 20_000)
        #expect(gc.json["objects_kept"] as? Int == 3)
        #expect(gc.json["manifests_removed"] as? [String] == [v1])
        #expect(fixture.git(["rev-parse", "main"]) == gc.json["commit"] as? String)
        #expect(fixture.git(["log", "-1", "--format=%s", "main"]) == "gc: keep the last 2 manifests")
        #expect(gitCLI(["fsck", "--strict", "--no-dangling"], in: fixture.registry).status == 0)
        #expect(fixture.git(["ls-tree", "-r", "--name-only", "main", "models/objects"]).split(separator: "\n").count == 3)
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let again = try fixture.sandbox.cli.run(["gc", "--registry", "--config", "publisher.yaml", "--json"])
        #expect(again.json["objects_removed"] as? Int == 0)
        #expect(again.json["commit"] is NSNull)
    }

    @Test("publish and pull through a git daemon on 127.0.0.1, which the test starts and kills")
    func networkRemote() throws {
        let port = try freePort()
        let url = "git://127.0.0.1:\(port)/registry.git"
        let fixture = RegistryFixture(files: 4, remoteURL: url)
        let daemon = Process()
        // The daemon itself, not the `git` front end, so that SIGKILL reaches the process that listens.
        daemon.executableURL = URL(fileURLWithPath: gitCLI(["--exec-path"], in: fixture.sandbox.path).output + "/git-daemon")
        daemon.arguments = ["--enable=receive-pack", "--export-all", "--reuseaddr",
                            "--listen=127.0.0.1", "--port=\(port)", "--base-path=\(fixture.sandbox.path)",
                            fixture.sandbox.path]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer { stop(daemon) }
        try waitForPort(port)
        fixture.git(["remote", "set-url", "origin", url], in: "publisher/repo")

        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 4)
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 4)
        #expect(pulled.json["manifest"] as? String == published.json["manifest"] as? String)

        stop(daemon)
        let offline = try fixture.pull()
        #expect(offline.status == 4)
        #expect(offline.stderr.contains("fetch from origin (\(url))"))
    }
}

/// SIGKILL (a child of a test cannot be stopped with SIGTERM), then a bounded wait.
func stop(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    let deadline = Date().addingTimeInterval(5)
    while process.isRunning && Date() < deadline { usleep(10_000) }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freePort() throws -> UInt16 { UInt16(LoopbackPort.unused()) }

/// Waits (at most 10 s) until something accepts connections on 127.0.0.1:`port`.
func waitForPort(_ port: UInt16) throws {
    guard LoopbackPort.waitForListener(port: Int(port), timeout: 10) else {
        throw CLIError.timedOut(["a server on port \(port)"])
    }
}
