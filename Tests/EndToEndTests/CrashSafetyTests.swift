#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSyncKit
import Testing

/// Kills `activate` with SIGKILL at every step (fault-injection points compiled into debug builds) and at
/// random moments, and checks after each kill that `models/` is one whole set — the old or the new, never a
/// mix, never a dangling link — and that `fsck --repair` leaves a clean store.
@Suite("crash safety of activation", .serialized)
struct CrashSafetyTests {
    static let points = ["mid-build", "before-rename-generation", "before-recording-build", "before-swap", "after-symlink", "after-swap", "after-index"]

    @Test("SIGKILL at every activation step and at random moments leaves the old or the new set, whole")
    func killAnywhere() throws {
        let sets = try TwoSets(files: 30)
        var outcomes: [String: Int] = [:]
        var iterations = 0
        var randomGenerator = SystemRandomNumberGenerator()
        for round in 0..<60 {
            let target = round % 2 == 0 ? sets.v2 : sets.v1
            let before = sets.active
            var environment: [String: String] = [:]
            let useRandomKill = round >= CrashSafetyTests.points.count * 2
            if !useRandomKill {
                environment["MODEL_SYNC_FAULT"] = CrashSafetyTests.points[round % CrashSafetyTests.points.count]
            }
            if useRandomKill {
                // Start the activation and kill it after a random delay within its run time.
                let process = Process()
                process.executableURL = URL(fileURLWithPath: CLI.binary)
                process.arguments = ["activate", target, "--force", "--config", "bot.yaml", "-q"]
                process.currentDirectoryURL = URL(fileURLWithPath: sets.sandbox.path)
                try process.run()
                usleep(UInt32.random(in: 0...40_000, using: &randomGenerator))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            } else {
                let result = try sets.run(["activate", target, "--force", "-q"], environment: environment)
                #expect(result.status == 9 || result.status == 0, "\(result.stderr)")
            }
            iterations += 1

            // models/ must resolve to exactly one complete set.
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: sets.sandbox.path + "/models")
            #expect(link != nil, "models is not a symlink after round \(round)")
            let seen = sets.active
            let which = seen == sets.v1Files ? "v1" : seen == sets.v2Files ? "v2" : "MIXED"
            #expect(which != "MIXED", "round \(round): models/ holds \(seen.count) files that match neither set")
            #expect(seen == before || seen == (target == sets.v1 ? sets.v1Files : sets.v2Files))
            outcomes[which, default: 0] += 1

            let repair = try sets.run(["fsck", "--repair", "--json"])
            #expect(repair.status == 0, "round \(round): \(repair.stdout) \(repair.stderr)")
            let check = try sets.run(["fsck", "--json"])
            #expect(check.status == 0, "round \(round): \(check.stdout)")
            #expect(sets.active == seen, "fsck --repair changed the active set")
            // Nothing half-built or temporary is left.
            let generations = (try? FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path + "/.model-sync/generations")) ?? []
            #expect(!generations.contains { $0.hasPrefix(".building-") })
            let tmp = (try? FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path + "/.model-sync/tmp")) ?? []
            #expect(tmp.isEmpty)
            // A swap link of a killed process may stay beside models/ until the next activation removes it.
            let strays = (try? FileManager.default.contentsOfDirectory(atPath: sets.sandbox.path))?.filter { $0.hasPrefix(".models.") } ?? []
            #expect(strays.count <= 1 && strays.allSatisfy { $0.contains(".swap-") }, "\(strays)")
        }
        #expect(iterations >= 50)
        // The fault points both before and after the swap were exercised.
        #expect((outcomes["v1"] ?? 0) > 0 && (outcomes["v2"] ?? 0) > 0)
    }
}
