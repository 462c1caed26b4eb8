#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSyncKit
import Testing

/// Kills `runpod-pull --from-archive` of a legacy archive (the old worker's zip of `models/`, hashed into the
/// store file by file) with SIGKILL at every step of its batched object writes, and checks after each kill that
/// every object holds the bytes its name says, that the index names no object missing from disk, and that the
/// same pull run again completes with the same set.
@Suite("crash safety of a legacy archive import", .serialized)
struct ArchiveCrashSafetyTests {
    /// Each point with the round it is passed in (rounds of 8 objects: the archive's small files take five).
    static let points = ["import-staged", "import-synced:2", "import-naming", "import-naming:3", "import-named:4"]

    /// A legacy archive of 37 small files (some identical) and one too large to be batched, with the config
    /// that imports it.
    private static func makeArchive(in sandbox: Sandbox) throws {
        let writer = try ZipWriter(creatingAt: sandbox.path + "/legacy.zip")
        for index in 0..<37 {
            sandbox.write("source/f\(index).bin", pseudoRandomBytes(count: 100 + index * 53, seed: UInt64(index % 30)))
            try writer.addFile(at: sandbox.path + "/source/f\(index).bin", as: "models/d\(index % 4)/f\(index).bin")
        }
        sandbox.write("source/large.bin", pseudoRandomBytes(count: 1_300_000, seed: 77))
        try writer.addFile(at: sandbox.path + "/source/large.bin", as: "models/large.bin", compression: .store)
        try writer.commit()
        sandbox.write("bot.yaml", Array("model_sync:\n  models_dir: active\n  runpod:\n    extract_subdir: models\n".utf8))
    }

    private static func pull(_ cli: CLI) throws -> CLI.Result {
        try cli.run(["runpod-pull", "--config", "bot.yaml", "--from-archive", "legacy.zip", "--json"])
    }

    @Test("SIGKILL at every step of a batched legacy archive import leaves durable, correct objects")
    func killAtEveryStep() throws {
        let reference = Sandbox()
        try Self.makeArchive(in: reference)
        let clean = try Self.pull(reference.cli)
        #expect(clean.status == 0, "\(clean.stderr)")
        let expected = clean.json["manifest"] as? String
        #expect(expected?.hasPrefix("sha256:") == true, "\(clean.stdout)")
        for point in Self.points {
            let sandbox = Sandbox()
            try Self.makeArchive(in: sandbox)
            let killed = try Self.pull(CLI(in: sandbox.path, environment: ["MODEL_SYNC_FAULT": point, "MODEL_SYNC_BATCH_OBJECTS": "8"]))
            #expect(killed.status != 0 && killed.stdout.isEmpty, "\(point): the pull was not killed")
            let objects = ObjectStore(layout: StoreLayout(root: try Self.storeRoot(in: sandbox)))
            if FileManager.default.fileExists(atPath: objects.layout.objects) {
                let (digests, strays) = try objects.enumerate()
                #expect(strays.isEmpty, "\(point): \(strays)")
                for digest in digests {
                    #expect(try ObjectStore.hashFile(at: objects.path(of: digest)).digest == digest,
                            "\(point): object \(digest) does not hold its bytes")
                }
            }
            let check = try sandbox.cli.run(["fsck", "--config", "bot.yaml", "--json"])
            #expect((check.json["missing"] as? [Any])?.isEmpty ?? true, "\(point): \(check.stdout)")
            #expect((check.json["corrupt"] as? [Any])?.isEmpty ?? true, "\(point): \(check.stdout)")

            let again = try Self.pull(sandbox.cli)
            #expect(again.status == 0 && again.json["manifest"] as? String == expected, "\(point): \(again.stderr)")
            let after = try sandbox.cli.run(["fsck", "--config", "bot.yaml", "--json"])
            #expect(after.status == 0 && after.json["ok"] as? Bool == true, "\(point): \(after.stdout)")
        }
    }

    /// The store the config's defaults put the objects in (`store_dir` of `status`).
    private static func storeRoot(in sandbox: Sandbox) throws -> String {
        let status = try sandbox.cli.run(["status", "--config", "bot.yaml", "--json"])
        let root = status.json["store_dir"] as? String ?? ".model-sync"
        return root.hasPrefix("/") ? root : sandbox.path + "/" + root
    }
}
