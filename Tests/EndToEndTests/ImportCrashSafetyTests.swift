#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSyncKit
import Testing

/// Kills `import` with SIGKILL at every step of its batched writes (fault-injection points compiled into debug
/// builds) and at random moments, and checks after each kill that the store holds no object whose bytes do
/// not hash to its name and no index row for an object that is not on disk, that a re-import completes
/// (removing the killed import's temp files) and that `fsck` then finds nothing wrong.
@Suite("crash safety of import", .serialized)
struct ImportCrashSafetyTests {
    /// Each point with the round it is passed in (rounds of 16 objects: the folder takes four).
    static let points = ["import-staged", "import-staged:3", "import-synced", "import-synced:2", "import-naming",
                         "import-naming:4", "import-named", "import-named:2", "import-before-index", "import-before-commit"]

    /// A folder of small files in a few folders (some identical) and one file too large to be batched.
    private static func makeModels(in sandbox: Sandbox) {
        for index in 0..<56 {
            sandbox.write("models/d\(index % 5)/f\(index).bin", pseudoRandomBytes(count: 200 + index * 37, seed: UInt64(index % 50)))
        }
        sandbox.write("models/large.bin", pseudoRandomBytes(count: 1_200_000, seed: 1000))
    }

    /// What the manifest of that folder is, from an import nobody killed.
    private static let expectedManifest: String = {
        let sandbox = Sandbox()
        makeModels(in: sandbox)
        return (try? sandbox.cli.run(["import", "models", "--store", "reference"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
    }()

    /// Checks what must hold right after a kill, before anything repairs the store.
    private func expectConsistentAfterKill(_ sandbox: Sandbox, round: String) throws {
        let store = ObjectStore(layout: StoreLayout(root: sandbox.path + "/store"))
        if FileManager.default.fileExists(atPath: store.layout.objects) {
            let (digests, strays) = try store.enumerate()
            #expect(strays.isEmpty, "\(round): \(strays)")
            for digest in digests {
                #expect(try ObjectStore.hashFile(at: store.path(of: digest)).digest == digest,
                        "\(round): object \(digest) does not hold its bytes")
            }
        }
        guard FileManager.default.fileExists(atPath: sandbox.path + "/store/index.sqlite") else { return }
        let check = try sandbox.cli.run(["fsck", "--store", "store", "--json"])
        let problems = check.json["problems"] as? [String] ?? []
        #expect(!problems.contains { $0.contains("not on disk") || $0.contains("corrupt") }, "\(round): \(problems)")
    }

    @Test("SIGKILL at every step of a batched import leaves durable, correct objects and a store a re-import completes")
    func killAtEveryStep() throws {
        let expected = Self.expectedManifest
        #expect(expected.hasPrefix("sha256:"))
        for (round, point) in Self.points.enumerated() {
            let sandbox = Sandbox()
            Self.makeModels(in: sandbox)
            let killed = try CLI(in: sandbox.path, environment: ["MODEL_SYNC_FAULT": point, "MODEL_SYNC_BATCH_OBJECTS": "16"])
                .run(["import", "models", "--store", "store"])
            #expect(killed.status != 0 && killed.stdout.isEmpty, "\(point): the import was not killed")
            try expectConsistentAfterKill(sandbox, round: point)
            if round % 2 == 0 {
                // A re-import alone puts everything right: it hashes again, finds the named objects, records
                // them and removes the killed import's temp files.
                let again = try sandbox.cli.run(["import", "models", "--store", "store"])
                #expect(again.status == 0 && again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(point): \(again.stderr)")
                let left = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/store/tmp")
                #expect(left.isEmpty, "\(point): temp files left: \(left)")
            } else {
                let repair = try sandbox.cli.run(["fsck", "--repair", "--store", "store", "--json"])
                #expect(repair.status == 0, "\(point): \(repair.stdout) \(repair.stderr)")
                let again = try sandbox.cli.run(["import", "models", "--store", "store"])
                #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(point): \(again.stderr)")
            }
            let check = try sandbox.cli.run(["fsck", "--store", "store", "--json"])
            #expect(check.status == 0 && check.json["ok"] as? Bool == true, "\(point): \(check.stdout)")
        }
    }

    @Test("SIGKILL at random moments of an import of many small files leaves a consistent store")
    func killAtRandomMoments() throws {
        let expected = Self.expectedManifest
        var generator = SystemRandomNumberGenerator()
        for round in 0..<8 {
            let sandbox = Sandbox()
            Self.makeModels(in: sandbox)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["import", "models", "--store", "store", "-q"]
            process.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "MODEL_SYNC_FAULT")
            environment["MODEL_SYNC_BATCH_OBJECTS"] = "8"
            process.environment = environment
            try process.run()
            usleep(UInt32.random(in: 0...150_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try expectConsistentAfterKill(sandbox, round: "random round \(round)")
            let again = try sandbox.cli.run(["import", "models", "--store", "store"])
            #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "round \(round): \(again.stderr)")
            let check = try sandbox.cli.run(["fsck", "--store", "store", "--json"])
            #expect(check.status == 0, "round \(round): \(check.stdout)")
        }
    }
}
