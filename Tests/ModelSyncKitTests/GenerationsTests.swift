import Foundation
import Testing
@testable import ModelSyncKit

@Suite("generations: activate, swap, rollback, retention and health checks")
struct GenerationsTests {
    @Test("activating a manifest builds a numbered generation and points models_dir at it with a relative link")
    func activate() throws {
        let fixture = try StoreFixture()
        let first = try fixture.activate(fixture.v1)
        #expect(first.result == .activated)
        #expect(first.generation == 1)
        #expect(first.previousGeneration == nil)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.modelsDir) == "store/generations/1")
        #expect(fixture.activeFiles == fixture.importedFiles("v1"))
        #expect(FileManager.default.fileExists(atPath: fixture.store.layout.generationManifestPath(1)))

        let second = try fixture.activate(fixture.v2)
        #expect(second.generation == 2)
        #expect(second.previousGeneration == 1)
        #expect(fixture.generations.activeNumber == 2)
        #expect(fixture.activeFiles == fixture.importedFiles("v2"))
        #expect(try fixture.record(2)?.state == .active)
        #expect(try fixture.record(1)?.state == .retained)
        let events = try fixture.store.events().filter { $0.kind == .activate }
        #expect(events.map(\.generation) == [1, 2])
        #expect(events.last?.fromGeneration == 1)
    }

    @Test("activating the active manifest again is up to date and builds nothing, unless forced")
    func upToDate() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let again = try fixture.activate(fixture.v1)
        #expect(again.result == .upToDate)
        #expect(again.generation == 1)
        #expect(fixture.generationDirectories == [1])
        let forced = try fixture.activate(fixture.v1, ActivationOptions(force: true))
        #expect(forced.result == .activated)
        #expect(forced.generation == 2)
    }

    @Test("a manifest whose blobs the store lacks is refused before anything is built")
    func missingObject() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let manifest = try fixture.store.manifest(fixture.v2)
        let only = try #require(manifest.files.first { $0.path == "c.bin" })
        try fixture.store.objects.remove(only.digest)
        #expect(throws: IntegrityError.self) { try fixture.activate(fixture.v2) }
        #expect(fixture.generations.activeNumber == 1)
        #expect(fixture.generationDirectories == [1])
    }

    @Test("rollback follows activation history, not numbers, and --to picks any retained generation")
    func rollback() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)     // 1
        try fixture.activate(fixture.v2)     // 2
        try fixture.activate(fixture.v1)     // 3
        #expect(try fixture.generations.rollbackTarget() == 2)

        let back = try fixture.generations.rollback()
        #expect(back.generation == 2)
        #expect(back.from == 3)
        #expect(back.manifest == fixture.v2)
        #expect(fixture.activeFiles == fixture.importedFiles("v2"))
        // Generation 2 became active last from 3, so a second rollback returns there rather than to 1.
        #expect(try fixture.generations.rollback().generation == 3)

        let picked = try fixture.generations.rollback(to: 1)
        #expect(picked.generation == 1)
        #expect(fixture.generations.activeNumber == 1)
        #expect(try fixture.record(1)?.state == .active)
        #expect(try fixture.record(3)?.state == .retained)
        #expect(try fixture.store.events().last?.kind == .rollback)
        #expect(try fixture.store.events().last?.reason == "requested")
    }

    @Test("rolling back to an unknown generation, or with no history, is a usage error naming what is retained")
    func rollbackRefused() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        #expect { try fixture.generations.rollback() } throws: { error in
            (error as? UsageError)?.message == "there is no previous generation to roll back to"
        }
        try fixture.activate(fixture.v2)
        #expect { try fixture.generations.rollback(to: 42) } throws: { error in
            (error as? UsageError)?.message == "generation 42 is not retained (retained: 1)"
        }
    }

    @Test("retention keeps keep_generations sets by activation time, and always the active one and the rollback target")
    func retention() throws {
        let fixture = try StoreFixture()
        let keepOne = ActivationOptions(keepGenerations: 1)
        try fixture.activate(fixture.v1, keepOne)        // 1
        let second = try fixture.activate(fixture.v2, keepOne)  // 2; 1 is the rollback target
        #expect(second.removedGenerations.isEmpty)
        #expect(fixture.generationDirectories == [1, 2])

        let third = try fixture.activate(fixture.v1, keepOne)   // 3; 2 is the rollback target, 1 goes
        #expect(third.removedGenerations == [1])
        #expect(fixture.generationDirectories == [2, 3])
        #expect(try fixture.record(1) == nil)
        #expect(!FileManager.default.fileExists(atPath: fixture.store.layout.generationManifestPath(1)))

        // Rolling back to 2 makes 3 its rollback target: both stay; nothing is removed by a rollback.
        #expect(try fixture.generations.rollback().generation == 2)
        let fourth = try fixture.activate(fixture.v1, keepOne)  // 4; 2 is the rollback target, 3 goes
        #expect(fourth.removedGenerations == [3])
        #expect(fixture.generationDirectories == [2, 4])
        #expect(try fixture.generations.rollbackTarget() == 2)
    }

    @Test("a failing health check swaps back, marks the generation failed, removes its directory and remembers the manifest")
    func failedHealthCheck() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        let result = try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 3"))
        #expect(result.result == .rolledBack)
        #expect(result.generation == 1)
        #expect(result.reason == "health check exited with status 3")
        #expect(fixture.generations.activeNumber == 1)
        #expect(fixture.activeFiles == fixture.importedFiles("v1"))
        #expect(fixture.generationDirectories == [1])
        #expect(try fixture.record(2)?.state == .failed)
        #expect(try fixture.record(1)?.state == .active)
        #expect(try fixture.store.ledger.badReason(fixture.v2) == "health check exited with status 3")
        let failure = try #require(try fixture.store.events().last)
        #expect(failure.kind == .healthFailed)
        #expect(failure.generation == 1 && failure.fromGeneration == 2)

        #expect { try fixture.activate(fixture.v2) } throws: { error in
            guard let error = error as? UsageError else { return false }
            return error.message == "manifest \(fixture.v2) failed its health check before (health check exited with status 3); "
                + "not activating it again" && error.hint == "pass --force to activate it anyway"
        }
        // The failed generation's record goes with the next successful activation; its number is not reused.
        let next = try fixture.activate(fixture.v2, ActivationOptions(force: true))
        #expect(next.generation == 3)
        #expect(try fixture.record(2) == nil)
    }

    @Test("a forced activation whose health check passes clears the bad mark, so a later activation is accepted")
    func passingHealthCheckClearsBadMark() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 1"))
        #expect(try fixture.store.ledger.badReason(fixture.v2) != nil)

        let forced = try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 0", force: true))
        #expect(forced.result == .activated)
        #expect(try fixture.store.ledger.badReason(fixture.v2) == nil)
        #expect(try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 0")).result == .upToDate)
        _ = try fixture.generations.rollback()
        #expect(try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 0")).result == .activated)
    }

    @Test("a forced activation without a health check clears the bad mark; one that fails again keeps it")
    func badMarkWithoutHealthCheck() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 1"))
        let again = try fixture.activate(fixture.v2, ActivationOptions(healthCheck: "exit 2", force: true))
        #expect(again.result == .rolledBack)
        #expect(try fixture.store.ledger.badReason(fixture.v2) == "health check exited with status 2")

        #expect(try fixture.activate(fixture.v2, ActivationOptions(force: true)).result == .activated)
        #expect(try fixture.store.ledger.badReason(fixture.v2) == nil)
    }

    @Test("the active generation is read from the symlink: none for a missing link, a real directory or a foreign target")
    func activeNumberFromSymlink() throws {
        let fixture = try StoreFixture()
        let layout = fixture.store.layout
        #expect(Generations.activeNumber(modelsDir: fixture.modelsDir, layout: layout) == nil)
        try FileManager.default.createSymbolicLink(atPath: fixture.modelsDir, withDestinationPath: "v1")
        #expect(Generations.activeNumber(modelsDir: fixture.modelsDir, layout: layout) == nil)
        try FileManager.default.removeItem(atPath: fixture.modelsDir)
        try FileManager.default.createSymbolicLink(atPath: fixture.modelsDir, withDestinationPath: layout.generations + "/7")
        #expect(Generations.activeNumber(modelsDir: fixture.modelsDir, layout: layout) == 7)
        #expect(fixture.store.ledger.activeNumber(modelsDir: fixture.directory.path + "/v1") == nil)
    }

    @Test("an index that lost its rows mid-life never makes activation reuse a number or remove a generation it does not know")
    func lostRowsNeverCostAGeneration() throws {
        let fixture = try StoreFixture()
        try fixture.activate(fixture.v1)
        try fixture.store.index.database.run("DELETE FROM generations")
        try fixture.store.index.database.run("DELETE FROM events")
        try fixture.store.index.database.run("DELETE FROM manifests")
        let result = try fixture.activate(fixture.v2, ActivationOptions(keepGenerations: 1))
        #expect(result.generation == 2)
        #expect(FileManager.default.fileExists(atPath: fixture.store.layout.generationPath(1) + "/a.bin"))
        #expect(fixture.activeFiles == fixture.importedFiles("v2"))
        #expect(try fixture.store.ledger.nextNumber() == 3)
    }
}
