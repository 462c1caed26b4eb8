import Foundation
import Testing

@Suite("bad marks and index versions, run as a user would", .serialized)
struct GenerationStateEndToEndTests {
    @Test("a manifest force-activated past its bad mark that then passes its health check is accepted again")
    func forcedActivationClearsBadMark() throws {
        // The check fails until a file named `healthy` appears in the working directory.
        let sets = try TwoSets(config: "  activation:\n    health_check: \"test ! -e {models_dir}/extra/new.json || test -e healthy\"\n")
        let failed = try sets.run(["activate", sets.v2])
        #expect(failed.status == 6, "\(failed.stderr)")
        let refused = try sets.run(["activate", sets.v2])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("failed its health check before"))

        sets.sandbox.write("healthy", "")
        let forced = try sets.run(["activate", sets.v2, "--force", "--json"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.json["result"] as? String == "activated")

        let again = try sets.run(["activate", sets.v2, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json["result"] as? String == "up-to-date")
        #expect(try sets.run(["rollback"]).status == 0)
        let back = try sets.run(["activate", sets.v2, "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.json["result"] as? String == "activated")
        #expect(sets.active == sets.v2Files)
    }

    @Test("an index with a newer schema makes every command, fsck --repair included, exit 2 naming both versions; it stays as it was")
    func newerIndexIsRefused() throws {
        let sets = try TwoSets()
        let indexPath = sets.sandbox.path + "/.model-sync/index.sqlite"
        // `user_version` is the big-endian 32-bit integer at offset 60 of a SQLite file's header. The last
        // command closed the database, which checkpointed the WAL into the file.
        #expect(!FileManager.default.fileExists(atPath: indexPath + "-wal"))
        var bytes = sets.sandbox.read(".model-sync/index.sqlite")
        bytes.replaceSubrange(60..<64, with: [0, 0, 0, 99])
        sets.sandbox.write(".model-sync/index.sqlite", bytes)

        for command in [["fsck", "--repair"], ["fsck"], ["status"], ["log"], ["activate", sets.v2], ["rollback"],
                        ["import", "next"], ["gc"]] {
            let result = try sets.run(command)
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("index.sqlite has schema version 99; this model-sync knows up to "), "\(command)")
        }
        #expect(sets.sandbox.read(".model-sync/index.sqlite") == bytes)
        let entries = try FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path + "/.model-sync")
        #expect(!entries.contains { $0.hasPrefix("index.sqlite.corrupt") })
        #expect(sets.active == sets.v1Files)
    }
}
