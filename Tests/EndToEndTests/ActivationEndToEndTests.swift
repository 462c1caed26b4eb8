import Foundation
import ModelSyncKit
import Testing

/// The files under `directory` (following the models symlink) with their digests.
func snapshot(_ directory: String) -> [String: String] {
    var result: [String: String] = [:]
    let directory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return result }
    while let relative = walker.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let full = directory + "/" + relative
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        result[relative] = (try? ObjectStore.hashFile(at: full).digest.description) ?? "unreadable"
    }
    return result
}

/// A sandbox with a bot config and two imported model sets, v1 active.
struct TwoSets {
    let sandbox = Sandbox()
    let v1: String
    let v2: String
    let v1Files: [String: String]
    let v2Files: [String: String]

    init(config: String = "", files: Int = 6) throws {
        sandbox.write("bot.yaml", Array("model_sync:\n  models_dir: models\n\(config)".utf8))
        for index in 0..<files {
            sandbox.write("models/m\(index % 3)/model\(index).bin", pseudoRandomBytes(count: 10_000 + index, seed: UInt64(index + 1)))
            sandbox.write("next/m\(index % 3)/model\(index).bin",
                          pseudoRandomBytes(count: 10_000 + index, seed: UInt64(index % 2 == 0 ? index + 100 : index + 1)))
        }
        sandbox.write("next/extra/new.json", Array("{\"v\":2}".utf8))
        v1Files = snapshot(sandbox.path + "/models")
        v2Files = snapshot(sandbox.path + "/next")
        let cli = sandbox.cli
        v1 = try cli.run(["import", "--config", "bot.yaml"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        v2 = try cli.run(["import", "next", "--config", "bot.yaml"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try cli.run(["activate", v1, "--config", "bot.yaml", "--json"])
        guard first.status == 0 else { throw CLIError.timedOut(["activate failed: \(first.stderr)"]) }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI(in: sandbox.path, environment: environment).run(arguments + ["--config", "bot.yaml"])
    }

    var active: [String: String] { snapshot(sandbox.path + "/models") }
}

@Suite("activate, rollback, retention and health checks, run as a user would", .serialized)
struct ActivationEndToEndTests {
    @Test("first activation adopts the real models folder; activate swaps the symlink; rollback returns")
    func activateAndRollback() throws {
        let sets = try TwoSets()
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: sets.sandbox.path + "/models")
        #expect(link == ".model-sync/generations/1")
        #expect(sets.active == sets.v1Files)

        let activated = try sets.run(["activate", sets.v2, "--json"])
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(activated.json["result"] as? String == "activated")
        #expect(activated.json["generation"] as? Int == 2)
        #expect(activated.json["manifest"] as? String == sets.v2)
        #expect(sets.active == sets.v2Files)

        let again = try sets.run(["activate", sets.v2, "--json"])
        #expect(again.json["result"] as? String == "up-to-date")

        let rollback = try sets.run(["rollback", "--json"])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(rollback.json["generation"] as? Int == 1)
        #expect(rollback.json["manifest"] as? String == sets.v1)
        #expect(sets.active == sets.v1Files)

        let status = try sets.run(["status", "--json"])
        let active = try #require(status.json["active"] as? [String: Any])
        #expect(active["generation"] as? Int == 1)
        #expect(active["files"] as? Int == 6)
        let states = (status.json["generations"] as? [[String: Any]] ?? []).map { "\($0["generation"]!):\($0["state"]!)" }
        #expect(states == ["2:retained", "1:active"])

        let log = try sets.run(["log", "--json"])
        let kinds = (log.json["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds.suffix(3) == ["activate", "activate", "rollback"])
        let last = try #require((log.json["events"] as? [[String: Any]])?.last)
        #expect(last["from_generation"] as? Int == 2)
        #expect(last["generation"] as? Int == 1)

        // Files of a generation are read-only.
        let info = try FileManager.default.attributesOfItem(atPath: sets.sandbox.path + "/models/m0/model0.bin")
        #expect((info[.posixPermissions] as? Int ?? 0) & 0o222 == 0)
        #expect(try sets.run(["fsck"]).status == 0)
    }

    @Test("link_mode auto hard-links regular files to their objects, copy copies them, executables are copied 0555")
    func linkModes() throws {
        let sets = try TwoSets(config: "")
        sets.sandbox.write("tools/run.sh", Array("#!/bin/sh\necho ok\n".utf8), mode: 0o755)
        sets.sandbox.write("tools/w.bin", [1, 2, 3])
        let tools = try sets.run(["import", "tools"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try sets.run(["activate", tools]).status == 0)
        func inode(_ path: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int ?? -1
        }
        func mode(_ path: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
        }
        let blob = sets.sandbox.path + "/.model-sync/objects/sha256/" + String(SHA256.hash([UInt8]([1, 2, 3])).hex.prefix(2))
            + "/" + SHA256.hash([UInt8]([1, 2, 3])).hex
        #expect(try inode(sets.sandbox.path + "/models/w.bin") == inode(blob))
        #expect(try mode(sets.sandbox.path + "/models/run.sh") == 0o555)
        #expect(try inode(sets.sandbox.path + "/models/run.sh") != inode(sets.sandbox.path + "/.model-sync/objects/sha256/"
            + String(SHA256.hash(Array("#!/bin/sh\necho ok\n".utf8)).hex.prefix(2)) + "/" + SHA256.hash(Array("#!/bin/sh\necho ok\n".utf8)).hex))
        sets.sandbox.write("copy.yaml", Array("model_sync:\n  models_dir: models\n  link_mode: copy\n".utf8))
        let copied = try CLI(in: sets.sandbox.path).run(["activate", sets.v2, "--config", "copy.yaml"])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(try inode(sets.sandbox.path + "/models/m0/model0.bin") != inode(blob))
        #expect(try mode(sets.sandbox.path + "/models/m0/model0.bin") == 0o444)
        #expect(sets.active == sets.v2Files)
    }

    @Test("rollback follows history, not numbers; --to picks a retained generation; an unknown one is refused")
    func rollbackHistory() throws {
        let sets = try TwoSets()
        #expect(try sets.run(["activate", sets.v2]).status == 0)      // 2
        #expect(try sets.run(["activate", sets.v1, "--force"]).status == 0) // 3 (v1 again)
        let back = try sets.run(["rollback", "--json"])
        #expect(back.json["generation"] as? Int == 2)
        let to = try sets.run(["rollback", "--to", "1", "--json"])
        #expect(to.status == 0)
        #expect(to.json["generation"] as? Int == 1)
        let missing = try sets.run(["rollback", "--to", "42"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("generation 42 is not retained"))
    }

    @Test("retention keeps keep_generations sets, never the active one or the rollback target")
    func retention() throws {
        let sets = try TwoSets(config: "  keep_generations: 2\n")
        for round in 0..<4 {
            #expect(try sets.run(["activate", round % 2 == 0 ? sets.v2 : sets.v1, "--force"]).status == 0)
        }
        let generations = try FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path + "/.model-sync/generations")
            .filter { Int($0) != nil }.sorted()
        #expect(generations == ["4", "5"])
        let rollback = try sets.run(["rollback", "--json"])
        #expect(rollback.json["generation"] as? Int == 4)
    }

    @Test("with keep_generations 1 the rollback target still stays, so a rollback always works")
    func retentionKeepsRollbackTarget() throws {
        let sets = try TwoSets(config: "  keep_generations: 1\n")
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        #expect(FileManager.default.fileExists(atPath: sets.sandbox.path + "/.model-sync/generations/1"))
        #expect(try sets.run(["activate", sets.v1, "--force"]).status == 0)
        // Generation 1 is neither active nor the rollback target (2 is): it goes.
        #expect(!FileManager.default.fileExists(atPath: sets.sandbox.path + "/.model-sync/generations/1"))
        let rollback = try sets.run(["rollback", "--json"])
        #expect(rollback.status == 0)
        #expect(rollback.json["generation"] as? Int == 2)
        #expect(sets.active == sets.v2Files)
    }

    @Test("a failing health check restores the previous set, exits 6, and the manifest is refused until --force")
    func healthCheckFails() throws {
        let sets = try TwoSets(config: "  activation:\n    health_check: \"test ! -e {models_dir}/extra/new.json\"\n")
        let failed = try sets.run(["activate", sets.v2, "--json"])
        #expect(failed.status == 6, "\(failed.stderr)")
        #expect(failed.json["result"] as? String == "rolled-back")
        #expect(failed.json["generation"] as? Int == 1)
        #expect(sets.active == sets.v1Files)
        #expect(!FileManager.default.fileExists(atPath: sets.sandbox.path + "/.model-sync/generations/2"))

        let refused = try sets.run(["activate", sets.v2])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("failed its health check before"))
        #expect(refused.stderr.contains("--force"))

        let log = try sets.run(["log", "--json"])
        #expect((log.json["events"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == "health-failed" })
        #expect(try sets.run(["fsck"]).status == 0)
    }

    @Test("the health check sees MODEL_SYNC_* variables; a timeout counts as a failure")
    func healthCheckEnvironmentAndTimeout() throws {
        let sets = try TwoSets(config: """
              activation:
                health_check: "echo $MODEL_SYNC_GENERATION $MODEL_SYNC_MANIFEST {generation} $MODEL_SYNC_MODELS_DIR > hc.txt; sleep 5"
                health_timeout_sec: 0.5

            """)
        let started = Date()
        let result = try sets.run(["activate", sets.v2, "--json"])
        #expect(result.status == 6)
        #expect(result.json["result"] as? String == "rolled-back")
        #expect(Date().timeIntervalSince(started) < 5)
        let seen = String(decoding: sets.sandbox.read("hc.txt"), as: UTF8.self)
        #expect(seen == "2 \(sets.v2) 2 \(sets.sandbox.path)/models\n")
    }

    @Test("a failing on_activate exits 8 but the new set stays active")
    func onActivateFails() throws {
        let sets = try TwoSets(config: "  activation:\n    on_activate: \"exit 3\"\n")
        let result = try sets.run(["activate", sets.v2, "--json"])
        #expect(result.status == 8)
        #expect(result.json["result"] as? String == "activated")
        #expect(result.stderr.contains("activation.on_activate"))
        #expect(sets.active == sets.v2Files)
    }

    @Test("fsck finds a file replaced or chmodded in the active set, and --repair re-materializes it")
    func tampering() throws {
        let sets = try TwoSets()
        let file = sets.sandbox.path + "/models/m1/model1.bin"
        // Replace the file (a new inode: the object itself stays intact).
        shell("cp '\(file)' /tmp/.x-$$ && printf 'tampered' > '\(file).new' && mv -f '\(file).new' '\(file)'")
        let found = try sets.run(["fsck", "--json"])
        #expect(found.status == 7)
        #expect((found.json["problems"] as? [String] ?? []).contains { $0.contains("m1/model1.bin") })
        let repaired = try sets.run(["fsck", "--repair", "--json"])
        #expect(repaired.status == 0, "\(repaired.stdout)")
        #expect(sets.active == sets.v1Files)

        // chmod +x on a hard-linked file changes the object's inode too: both are repaired.
        shell("chmod 755 '\(sets.sandbox.path)/models/m2/model2.bin'")
        #expect(try sets.run(["fsck"]).status == 7)
        #expect(try sets.run(["fsck", "--repair"]).status == 0)
        #expect(try sets.run(["fsck"]).status == 0)
    }

    @Test("with link_mode copy, a file changed in place is re-materialized from the intact object")
    func tamperingInPlaceWithCopies() throws {
        let sets = try TwoSets(config: "  link_mode: copy\n")
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        let file = sets.sandbox.path + "/models/m0/model0.bin"
        shell("chmod u+w '\(file)' && printf 'X' | dd of='\(file)' bs=1 seek=10 conv=notrunc 2>/dev/null; chmod 444 '\(file)'")
        let found = try sets.run(["fsck", "--json"])
        #expect(found.status == 7)
        #expect((found.json["corrupt"] as? [String] ?? []).isEmpty)
        #expect(try sets.run(["fsck", "--repair"]).status == 0)
        #expect(sets.active == sets.v2Files)
    }
}
