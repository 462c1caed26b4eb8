#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The names of the generation directories under `<sandbox>/.model-sync/generations`, sorted.
private func generationNames(_ sets: TwoSets) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path + "/.model-sync/generations")) ?? []).sorted()
}

@Suite("the store never loses data and never reports a wrong state, run as a user would", .serialized)
struct StoreSafetyEndToEndTests {
    @Test("a store inside the models folder, or a models folder inside the store, is refused before anything moves",
          arguments: [
              ["--store", "models/.model-sync"],
              ["--store", "models/deep/er/store"],
              ["--store", "models"],
              ["--store", "other/../models/./x"],
              ["--store", "alias/.store"],
              ["--store", "store-link"],
              ["--models-dir", ".model-sync/models", "--store", ".model-sync"],
              ["--models-dir", "alias-store/live", "--store", ".model-sync"],
              ["--models-dir", "alias", "--store", "models/inner/.st"],
          ])
    func nestedPlacementIsRefused(_ flags: [String]) throws {
        let sandbox = Sandbox()
        sandbox.write("models/a/model.bin", pseudoRandomBytes(count: 5_000, seed: 1))
        sandbox.write("elsewhere/.keep", "")
        #expect(shell("cd '\(sandbox.path)' && mkdir -p other .model-sync && ln -s models alias && ln -s models/inner store-link "
                      + "&& mkdir -p models/inner && ln -s .model-sync alias-store") == 0)
        let before = snapshot(sandbox.path + "/models")
        for command in [["import"], ["activate", "sha256:" + String(repeating: "a", count: 64)], ["status"],
                        ["fsck", "--repair"]] {
            let result = try sandbox.cli.run(command + flags)
            #expect(result.status == 2, "\(command) \(flags): \(result.stderr)")
            #expect(result.stderr.contains("inside"), "\(result.stderr)")
            #expect(result.stderr.contains("models folder") && result.stderr.contains("store "), "\(result.stderr)")
        }
        // Nothing moved: the folder is still a real directory with its files, and no store was made in it.
        var info = stat()
        #expect(lstat(sandbox.path + "/models", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR)
        #expect(snapshot(sandbox.path + "/models") == before)
    }

    @Test("the same nesting through config keys is refused too, naming both paths")
    func nestedPlacementFromConfig() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a/model.bin", pseudoRandomBytes(count: 5_000, seed: 2))
        sandbox.write("bot.yaml", "model_sync:\n  models_dir: models\n  store_dir: models/cache/.model-sync\n")
        let result = try sandbox.cli.run(["import", "--config", "bot.yaml", "--json"])
        #expect(result.status == 2, "\(result.stderr)")
        let message = (result.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains(sandbox.path + "/models/cache/.model-sync") && message.contains(sandbox.path + "/models"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/models/cache"))
    }

    @Test("deleting or emptying the index never deletes a generation: numbering continues from the disk",
          arguments: ["delete", "empty"])
    func indexIsACache(_ how: String) throws {
        let sets = try TwoSets()
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        let index = sets.sandbox.path + "/.model-sync/index.sqlite"
        for suffix in ["", "-wal", "-shm"] { unlink(index + suffix) }
        if how == "empty" { sets.sandbox.write(".model-sync/index.sqlite", []) }

        let activated = try sets.run(["activate", sets.v1, "--json"])
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(activated.json["generation"] as? Int == 3)
        #expect(sets.active == sets.v1Files)
        #expect(generationNames(sets) == ["1", "1.manifest", "2", "2.manifest", "3", "3.manifest"])
        // The set that was active before is still there to return to.
        let back = try sets.run(["rollback", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.json["generation"] as? Int == 2)
        #expect(sets.active == sets.v2Files)
        let fsck = try sets.run(["fsck", "--json"])
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
    }

    @Test("a pull after the client's index was deleted continues the numbering and keeps every generation")
    func pullAfterDeletedIndex() throws {
        let fixture = RegistryFixture(files: 3)
        #expect(try fixture.publish().status == 0)
        #expect(try fixture.pull().status == 0)
        fixture.sandbox.write("publisher/models/set/file0.bin", pseudoRandomBytes(count: 7_000, seed: 70))
        #expect(try fixture.publish().status == 0)
        #expect(try fixture.pull().json["generation"] as? Int == 2)
        let before = snapshot(fixture.sandbox.path + "/client/models")
        unlink(fixture.sandbox.path + "/client/store/index.sqlite")
        fixture.sandbox.write("publisher/models/set/file1.bin", pseudoRandomBytes(count: 8_000, seed: 80))
        #expect(try fixture.publish().status == 0)
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["generation"] as? Int == 3)
        let generations = try FileManager.default.contentsOfDirectory(atPath: fixture.sandbox.path + "/client/store/generations")
        #expect(Set(generations).isSuperset(of: ["1", "2", "3"]))
        #expect(try fixture.sandbox.cli.run(["rollback", "--config", "client.yaml"]).status == 0)
        #expect(snapshot(fixture.sandbox.path + "/client/models") == before)
        #expect(try fixture.sandbox.cli.run(["fsck", "--config", "client.yaml"]).status == 0)
    }

    @Test("fsck --repair after the index was deleted records every generation and removes none")
    func repairAfterDeletedIndexKeepsGenerations() throws {
        let sets = try TwoSets()
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        unlink(sets.sandbox.path + "/.model-sync/index.sqlite")
        let repair = try sets.run(["fsck", "--repair", "--json"])
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        #expect(generationNames(sets) == ["1", "1.manifest", "2", "2.manifest"])
        let status = try sets.run(["status", "--json"])
        let states = (status.json["generations"] as? [[String: Any]] ?? []).map { "\($0["generation"]!):\($0["state"]!)" }
        #expect(states == ["2:active", "1:retained"])
        let gc = try sets.run(["gc", "--json"])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(try sets.run(["rollback", "--to", "1"]).status == 0)
        #expect(sets.active == sets.v1Files)
    }

    @Test("a generation directory whose manifest is lost is never removed by activation, retention or fsck --repair")
    func orphanGenerationIsKept() throws {
        let sets = try TwoSets(config: "  keep_generations: 1\n")
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        // Generation 1 loses its sidecar and the index forgets everything.
        unlink(sets.sandbox.path + "/.model-sync/generations/1.manifest")
        unlink(sets.sandbox.path + "/.model-sync/index.sqlite")
        #expect(try sets.run(["activate", sets.v1]).status == 0)
        let repair = try sets.run(["fsck", "--repair"])
        #expect(repair.status == 7, "\(repair.stdout) \(repair.stderr)")
        #expect(repair.stdout.contains("its manifest is lost"))
        #expect(FileManager.default.fileExists(atPath: sets.sandbox.path + "/.model-sync/generations/1/m0/model0.bin"))
    }

    @Test("status on a fresh folder exits 0 with active null, in JSON and in text")
    func statusOnFreshFolder() throws {
        let sandbox = Sandbox()
        let json = try sandbox.cli.run(["status", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.json.keys.contains("active"))
        #expect(json.json["active"] is NSNull)
        #expect((json.json["generations"] as? [Any])?.isEmpty == true)
        let text = try sandbox.cli.run(["status"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("active:     none"))
        // Nothing was created by looking.
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/.model-sync"))
        sandbox.write("models/a.bin", "x")
        let withFolder = try sandbox.cli.run(["status", "--json"])
        #expect(withFolder.status == 0 && withFolder.json["active"] is NSNull, "\(withFolder.stderr)")
    }

    @Test("a set whose health check is killed (SIGKILL) is not left active: the next command puts the previous set back",
          arguments: [["status", "--json"], ["import", "next"], ["rollback", "--to", "1"]])
    func killedDuringHealthCheck(_ next: [String]) throws {
        let sets = try TwoSets(config: "  activation:\n    health_check: \"test ! -e slow || exec sh ./slow-check.sh\"\n")
        sets.sandbox.write("slow-check.sh", "echo $$ > check.pid\ntouch check.started\nexec sleep 60\n")
        sets.sandbox.write("slow", "")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["activate", sets.v2, "--config", "bot.yaml"]
        process.currentDirectoryURL = URL(fileURLWithPath: sets.sandbox.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: sets.sandbox.path + "/check.started") && Date() < deadline { usleep(20_000) }
        #expect(sets.active == sets.v2Files, "the unchecked set is active while its check runs")
        kill(process.processIdentifier, SIGKILL)
        // The orphaned check goes too (before waiting: it holds the inherited output descriptors).
        if let pid = Int32(String(decoding: sets.sandbox.read("check.pid"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        #expect(sets.active == sets.v2Files, "nothing ran since the kill")

        let result = try sets.run(next)
        #expect(result.status == 0, "\(next): \(result.stderr)")
        #expect(sets.active == sets.v1Files)
        #expect(!FileManager.default.fileExists(atPath: sets.sandbox.path + "/.model-sync/check-pending"))
        let status = try sets.run(["status", "--json"])
        #expect((status.json["active"] as? [String: Any])?["generation"] as? Int == 1, "\(status.stdout)")
        let log = try sets.run(["log", "--json"])
        #expect((log.json["events"] as? [[String: Any]] ?? []).contains { ($0["reason"] as? String)?.contains("interrupted") == true })

        // The manifest is not remembered as bad: activating it again runs its check again.
        unlink(sets.sandbox.path + "/slow")
        let again = try sets.run(["activate", sets.v2, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json["result"] as? String == "activated")
        #expect(sets.active == sets.v2Files)
        #expect(try sets.run(["fsck"]).status == 0)
    }

    /// Flips the first byte of `path` in place (the generation file and its hard-linked object change together).
    private func corrupt(_ path: String) {
        let descriptor = open(path, O_WRONLY)
        var byte: UInt8 = 0
        let input = open(path, O_RDONLY)
        _ = read(input, &byte, 1)
        close(input)
        byte ^= 0xFF
        _ = pwrite(descriptor, &byte, 1, 0)
        close(descriptor)
    }

    @Test("after fsck --repair quarantines an object, activate restores the active files once the object is back")
    func activateRestoresQuarantinedFiles() throws {
        let sets = try TwoSets()
        let original = sets.sandbox.read("next/../models/m0/model0.bin")
        sets.sandbox.write("copy/m0/model0.bin", original)
        corrupt(sets.sandbox.path + "/models/m0/model0.bin")
        let repair = try sets.run(["fsck", "--repair", "--json"])
        #expect(repair.status == 7, "\(repair.stdout) \(repair.stderr)")
        #expect((repair.json["repaired"] as? [[String: Any]] ?? []).contains { $0["action"] as? String == "quarantined" })

        // Without the object, activate says what is missing and changes nothing.
        let refused = try sets.run(["activate", sets.v1])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(try sets.run(["import", "copy"]).status == 0)
        let restored = try sets.run(["activate", sets.v1, "--json"])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.json["generation"] as? Int == 1)
        #expect(sets.active == sets.v1Files)
        let fsck = try sets.run(["fsck"])
        #expect(fsck.status == 0, "\(fsck.stdout)")
        let again = try sets.run(["activate", sets.v1, "--json"])
        #expect(again.json["result"] as? String == "up-to-date")
    }

    @Test("rollback to a generation fsck found damaged mends it first, or refuses while the store lacks the object")
    func rollbackToDamagedGeneration() throws {
        let sets = try TwoSets()
        sets.sandbox.write("copy/m0/model0.bin", sets.sandbox.read("models/m0/model0.bin"))
        #expect(try sets.run(["activate", sets.v2]).status == 0)
        corrupt(sets.sandbox.path + "/.model-sync/generations/1/m0/model0.bin")
        #expect(try sets.run(["fsck", "--repair"]).status == 7)
        let refused = try sets.run(["rollback"])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("generation 1 is damaged"))
        #expect(sets.active == sets.v2Files)
        #expect(try sets.run(["import", "copy"]).status == 0)
        let back = try sets.run(["rollback", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(sets.active == sets.v1Files)
        #expect(try sets.run(["fsck"]).status == 0)
    }

    @Test("after fsck --repair quarantines an object, the next pull fetches it and restores the active files")
    func pullRestoresQuarantinedFiles() throws {
        let fixture = RegistryFixture(files: 4)
        #expect(try fixture.publish().status == 0)
        #expect(try fixture.pull().status == 0)
        let expected = snapshot(fixture.sandbox.path + "/client/models")
        corrupt(fixture.sandbox.path + "/client/models/set/file2.bin")
        let repair = try fixture.sandbox.cli.run(["fsck", "--repair", "--config", "client.yaml"])
        #expect(repair.status == 7, "\(repair.stdout) \(repair.stderr)")
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 1)
        #expect(snapshot(fixture.sandbox.path + "/client/models") == expected)
        let fsck = try fixture.sandbox.cli.run(["fsck", "--config", "client.yaml"])
        #expect(fsck.status == 0, "\(fsck.stdout)")
    }

    @Test("fsck running beside a real concurrent import reports no false damage")
    func fsckBesideImport() throws {
        let sandbox = Sandbox()
        sandbox.write("models/seed.bin", pseudoRandomBytes(count: 1_000, seed: 3))
        #expect(try sandbox.cli.run(["import"]).status == 0)
        for index in 0..<400 {
            sandbox.write("incoming/d\(index % 8)/f\(index).bin", pseudoRandomBytes(count: 40_000, seed: UInt64(2 * index + 11)))
        }
        let importer = Process()
        importer.executableURL = URL(fileURLWithPath: CLI.binary)
        importer.arguments = ["import", "incoming"]
        importer.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        importer.standardOutput = FileHandle.nullDevice
        importer.standardError = FileHandle.nullDevice
        try importer.run()
        var checks: [CLI.Result] = []
        var duringImport = 0
        repeat {
            let running = importer.isRunning
            let check = try sandbox.cli.run(["fsck", "--json"])
            checks.append(check)
            if running { duringImport += 1 }
        } while importer.isRunning && checks.count < 50
        importer.waitUntilExit()
        #expect(importer.terminationStatus == 0)
        #expect(duringImport >= 1, "fsck never ran while the import did")
        for check in checks {
            #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
            #expect(check.json["ok"] as? Bool == true)
        }
        #expect(try sandbox.cli.run(["fsck"]).status == 0)
    }
}
