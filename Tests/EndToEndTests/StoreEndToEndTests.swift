import Foundation
import ModelSyncKit
import Testing

@Suite("model-sync store commands, run as a user would", .serialized)
struct StoreEndToEndTests {
    @Test("import → status → fsck → a flipped byte makes fsck exit 7 naming it → fsck --repair → fsck 0 → gc")
    func storeLifecycle() throws {
        let sandbox = Sandbox()
        sandbox.write("incoming/btc/model.onnx", pseudoRandomBytes(count: 2_000_000, seed: 1))
        sandbox.write("incoming/eth/model.onnx", pseudoRandomBytes(count: 500_000, seed: 2))
        sandbox.write("incoming/run.sh", Array("#!/bin/sh\n".utf8), mode: 0o755)
        let cli = sandbox.cli

        let imported = try cli.run(["import", "incoming", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let fields = imported.json
        let manifest = try #require(fields["manifest"] as? String)
        #expect(manifest.hasPrefix("sha256:") && manifest.count == 71)
        #expect(fields["files"] as? Int == 3)
        #expect(fields["bytes"] as? Int == 2_500_010)
        #expect(fields["new_objects"] as? Int == 3)
        #expect(fields["new_bytes"] as? Int == 2_500_010)

        let status = try cli.run(["status", "--json"])
        #expect(status.status == 0)
        #expect(status.json["store_dir"] as? String == sandbox.path + "/.model-sync")
        #expect(status.json["active"] is NSNull)

        let clean = try cli.run(["fsck", "--json"])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.json["ok"] as? Bool == true)
        #expect(clean.json["objects_checked"] as? Int == 4) // three blobs and the manifest

        // Flip one byte of the big object.
        let bigDigest = try #require(manifestEntries(sandbox, manifest).first { $0.path == "btc/model.onnx" }?.digest)
        let hex = String(bigDigest.dropFirst(7))
        let objectPath = ".model-sync/objects/sha256/\(hex.prefix(2))/\(hex)"
        var bytes = sandbox.read(objectPath)
        bytes[1000] ^= 0xff
        shell("chmod u+w '\(sandbox.path)/\(objectPath)'")
        sandbox.write(objectPath, bytes, mode: 0o444)

        let broken = try cli.run(["fsck", "--json"])
        #expect(broken.status == 7)
        #expect(broken.json["corrupt"] as? [String] == [bigDigest])
        #expect(broken.json["ok"] as? Bool == false)

        let repaired = try cli.run(["fsck", "--repair", "--json"])
        // Nothing retained references the object yet (no generation), so the repair leaves nothing behind.
        #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
        let actions = (repaired.json["repaired"] as? [[String: Any]]) ?? []
        #expect(actions.contains { $0["digest"] as? String == bigDigest && $0["action"] as? String == "quarantined" })
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/.model-sync/quarantine")
        #expect(quarantined.count == 1 && quarantined[0].hasPrefix(hex))

        let after = try cli.run(["fsck"])
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")

        let dry = try cli.run(["gc", "--dry-run", "--json", "--grace-sec", "0"])
        #expect(dry.status == 0)
        #expect(dry.json["dry_run"] as? Bool == true)
        #expect(dry.json["objects_removed"] as? Int == 3)
        let gc = try cli.run(["gc", "--json", "--grace-sec", "0"])
        #expect(gc.status == 0)
        #expect(gc.json["objects_removed"] as? Int == 3)
        #expect(gc.json["objects_kept"] as? Int == 0)
        let finalCheck = try cli.run(["fsck", "--json"])
        #expect(finalCheck.status == 0)
        #expect(finalCheck.json["objects_checked"] as? Int == 0)
    }

    @Test("fsck checks the index against the disk both ways and finds temp files; --repair and gc clear them")
    func indexAndDiskBothWays() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 5000, seed: 1))
        sandbox.write("models/b.bin", pseudoRandomBytes(count: 6000, seed: 2))
        sandbox.write("other/c.bin", pseudoRandomBytes(count: 7000, seed: 3))
        let digest = try sandbox.cli.run(["import"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try sandbox.cli.run(["import", "other", "--store", sandbox.path + "/elsewhere"]).status == 0)
        let store = sandbox.path + "/.model-sync"
        // An object on disk the index does not know (copied in from another store)…
        let stray = pseudoRandomBytes(count: 7000, seed: 3)
        let strayHex = SHA256.hash(stray).hex
        shell("mkdir -p '\(store)/objects/sha256/\(strayHex.prefix(2))' && cp '\(sandbox.path)/elsewhere/objects/sha256/\(strayHex.prefix(2))/\(strayHex)' '\(store)/objects/sha256/\(strayHex.prefix(2))/'")
        // …an indexed object whose file is gone…
        let goneHex = SHA256.hash(pseudoRandomBytes(count: 6000, seed: 2)).hex
        shell("rm -f '\(store)/objects/sha256/\(goneHex.prefix(2))/\(goneHex)'")
        // …and a half-written temp file.
        sandbox.write(".model-sync/tmp/obj-12345-678", [1, 2, 3])

        let found = try sandbox.cli.run(["fsck", "--json"])
        #expect(found.status == 7)
        let problems = (found.json["problems"] as? [String]) ?? []
        #expect(problems.contains("object sha256:\(strayHex) is not in the index"))
        #expect(problems.contains("object sha256:\(goneHex) is in the index but not on disk"))
        #expect(problems.contains("leftover temporary file \(store)/tmp/obj-12345-678"))

        let repaired = try sandbox.cli.run(["fsck", "--repair", "--json"])
        #expect(repaired.status == 0, "\(repaired.stdout)")
        let actions = Set(((repaired.json["repaired"] as? [[String: Any]]) ?? []).compactMap { $0["action"] as? String })
        #expect(actions.isSuperset(of: ["indexed", "index-row-removed", "removed"]))
        #expect(try sandbox.cli.run(["fsck"]).status == 0)

        // gc removes stale temp files too, and the manifest is still known.
        sandbox.write(".model-sync/tmp/obj-99-1", [9])
        #expect(try sandbox.cli.run(["gc"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: store + "/tmp/obj-99-1"))
        #expect(try sandbox.cli.run(["diff", digest, digest]).status == 0)
    }

    @Test("fsck reports the staged downloads of a pull that no longer runs (exit 7); gc removes them and counts their bytes; a held folder stays")
    func stagedDownloadsOfDeadPulls() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 5000, seed: 1))
        #expect(try sandbox.cli.run(["import"]).status == 0)
        let store = sandbox.path + "/.model-sync"
        let dead = "\(try FolderLockHolder.exitedProcessID())-0badf00d"
        sandbox.write(".model-sync/incoming/\(dead)/objects/sha256/ab/abcd", pseudoRandomBytes(count: 4000, seed: 2))
        sandbox.write(".model-sync/incoming/\(dead)/tmp/obj-1", pseudoRandomBytes(count: 96, seed: 3))
        // A folder whose pull runs (in a process whose pid this one may not see): its lock keeps it.
        let held = "\(try FolderLockHolder.exitedProcessID())-5ea1ed00"
        sandbox.write(".model-sync/incoming/\(held)/objects/sha256/cd/cdef", [1, 2, 3])
        let holder = try FolderLockHolder(store + "/incoming/" + held)
        sandbox.write(".model-sync/tmp/obj-12345-678", [1, 2, 3, 4])

        let found = try sandbox.cli.run(["fsck", "--json"])
        #expect(found.status == 7)
        let problems = (found.json["problems"] as? [String]) ?? []
        #expect(problems.contains("leftover staged download \(store)/incoming/\(dead) (4096 bytes) of a pull that no longer runs"),
                "\(problems)")
        #expect(!problems.contains { $0.contains(held) })

        let dry = try sandbox.cli.run(["gc", "--dry-run", "--json"])
        #expect(dry.json["staged_removed"] as? Int == 1 && dry.json["temp_files_removed"] as? Int == 1, "\(dry.stdout)")
        #expect(FileManager.default.fileExists(atPath: store + "/incoming/" + dead))
        let gc = try sandbox.cli.run(["gc", "--json"])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.json["staged_removed"] as? Int == 1)
        #expect(gc.json["leftover_bytes_freed"] as? Int == 4100)
        #expect(gc.json["bytes_freed"] as? Int == 0)
        #expect(!FileManager.default.fileExists(atPath: store + "/incoming/" + dead))
        #expect(FileManager.default.fileExists(atPath: store + "/incoming/\(held)/objects/sha256/cd/cdef"))
        #expect(try sandbox.cli.run(["fsck"]).status == 0)

        holder.release()
        let text = try sandbox.cli.run(["gc"])
        #expect(text.stdout.contains("removed 0 temp files and 1 staged downloads of pulls no longer running"), "\(text.stdout)")
        #expect(!FileManager.default.fileExists(atPath: store + "/incoming/" + held))
    }

    @Test("gc keeps recent manifests' objects within the grace period")
    func gcGrace() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 1000, seed: 3))
        #expect(try sandbox.cli.run(["import"]).status == 0)
        let gc = try sandbox.cli.run(["gc", "--json"])
        #expect(gc.status == 0)
        #expect(gc.json["objects_removed"] as? Int == 0)
        #expect(gc.json["objects_kept"] as? Int == 2)
    }

    @Test("gc keeps a pinned manifest's objects past the grace period, and drops them once unpinned")
    func pinnedManifests() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 1000, seed: 3))
        let digest = try sandbox.cli.run(["import"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let pinned = try sandbox.cli.run(["pin", String(digest.prefix(13)), "--json"])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(pinned.json["pinned"] as? Bool == true)
        #expect(try sandbox.cli.run(["gc", "--grace-sec", "0", "--json"]).json["objects_removed"] as? Int == 0)
        #expect(try sandbox.cli.run(["pin", digest, "--remove"]).status == 0)
        #expect(try sandbox.cli.run(["gc", "--grace-sec", "0", "--json"]).json["objects_removed"] as? Int == 2)
        #expect(try sandbox.cli.run(["pin", digest]).status == 2)
    }

    @Test("a second writer waits for the lock, then exits 5 naming the holder's pid")
    func busyStore() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", [1, 2, 3])
        sandbox.write("next/a.bin", [4, 5, 6])
        let digest = try sandbox.cli.run(["import", "next"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Another model-sync holds the lock: an activation whose health check takes a few seconds.
        sandbox.write("slow.yaml", Array("model_sync:\n  activation:\n    health_check: \"sleep 4\"\n".utf8))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: CLI.binary)
        holder.arguments = ["activate", digest, "--config", "slow.yaml", "-q"]
        holder.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        // Wait until the lock file names the holder (it writes its pid once it has the lock).
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline,
              String(decoding: sandbox.read(".model-sync/lock"), as: UTF8.self) != "\(holder.processIdentifier)\n" {
            usleep(20_000)
        }
        sandbox.write("cfg.yaml", Array("model_sync:\n  lock_timeout_sec: 0.5\n".utf8))
        let busy = try sandbox.cli.run(["import", "--config", "cfg.yaml"])
        #expect(busy.stderr.contains("held by pid \(holder.processIdentifier)"), "\(busy.stderr)")
        #expect(busy.status == 5)
        #expect(busy.stderr.contains("the store is busy"))
        #expect(busy.stderr.contains(sandbox.path + "/.model-sync/lock"))
    }

    @Test("an unknown configuration key exits 2 with file:line and a suggestion")
    func unknownKey() throws {
        let sandbox = Sandbox()
        sandbox.write("bot.yaml", Array("bot:\n  name: x\nmodel_sync:\n  keep_generation: 4\n".utf8))
        let result = try sandbox.cli.run(["status", "--config", "bot.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bot.yaml:4"))
        let json = try sandbox.cli.run(["status", "--config", "bot.yaml", "--json"]).json
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["exit_code"] as? Int == 2)
        #expect((error["message"] as? String ?? "").contains("keep_generation"))
        #expect(result.stderr.contains("keep_generations"))
    }

    @Test("argument errors exit 2, not 64, and every command has --help")
    func usageErrors() throws {
        let sandbox = Sandbox()
        #expect(try sandbox.cli.run(["gc", "--grace-sec", "-1"]).status == 2)
        #expect(try sandbox.cli.run(["no-such-command"]).status == 2)
        for command in ["publish", "pull", "runpod-pull", "daemon", "import", "activate", "rollback", "status", "log", "diff",
                        "fsck", "gc", "pin", "pack", "versions", "keygen", "verify", "cosign"] {
            let help = try sandbox.cli.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: model-sync \(command)"))
            #expect(help.stdout.contains("--json"))
        }
    }

    @Test("diff lists added, removed and changed paths between two imports")
    func diff() throws {
        let sandbox = Sandbox()
        sandbox.write("v1/keep.bin", [1])
        sandbox.write("v1/change.bin", [2])
        sandbox.write("v1/drop.bin", [3])
        sandbox.write("v2/keep.bin", [1])
        sandbox.write("v2/change.bin", [9])
        sandbox.write("v2/new.bin", [4])
        let first = try sandbox.cli.run(["import", "v1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let second = try sandbox.cli.run(["import", "v2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let diff = try sandbox.cli.run(["diff", first, String(second.prefix(14)), "--json"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.json["added"] as? [String] == ["new.bin"])
        #expect(diff.json["removed"] as? [String] == ["drop.bin"])
        #expect(diff.json["changed"] as? [String] == ["change.bin"])
    }

    @Test("the old documentation's configs/bot.yaml is accepted")
    func botYAML() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["log", "--config", CLI.packageRoot + "/configs/bot.yaml", "--store", sandbox.path + "/s"])
        // No store yet: a usage error about the store, not about the configuration.
        #expect(result.status == 2)
        #expect(result.stderr.contains("no model-sync store"))
        // `status` reports the fresh state instead.
        let status = try sandbox.cli.run(["status", "--config", CLI.packageRoot + "/configs/bot.yaml", "--store", sandbox.path + "/s"])
        #expect(status.status == 0, "\(status.stderr)")
    }
}

/// Reads a manifest object from the store and returns its entries.
func manifestEntries(_ sandbox: Sandbox, _ digest: String) -> [(path: String, digest: String)] {
    let hex = String(digest.dropFirst(7))
    let bytes = sandbox.read(".model-sync/objects/sha256/\(hex.prefix(2))/\(hex)")
    let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    let files = object?["files"] as? [[String: Any]] ?? []
    return files.map { ($0["path"] as? String ?? "", $0["digest"] as? String ?? "") }
}
