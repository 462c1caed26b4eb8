import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

/// A pull that stages its downloads before the store lock and stores them under it shows one `fetching`
/// phase: its bytes only ever grow, to the total, once.
@Suite("the fetching phase of a pull")
struct FetchingPhaseTests {
    /// What a handler received.
    final class Recorder: Sendable {
        let events = Mutex<[ModelSyncKit.Progress]>([])
        var handler: ProgressHandler { { [self] event in events.withLock { $0.append(event) } } }
        var fetching: [ModelSyncKit.Progress] { events.withLock { $0 }.filter { $0.phase == "fetching" } }
    }

    /// Checks that `events` are one phase growing to `total`, reaching it once, and not repeating itself.
    static func expectOnePhase(_ events: [ModelSyncKit.Progress], total: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!events.isEmpty, sourceLocation: sourceLocation)
        let growing = zip(events, events.dropFirst()).allSatisfy { $0.completed <= $1.completed && $0 != $1 }
        #expect(growing, "\(events.map { "\($0.completed)/\($0.total ?? 0)" })", sourceLocation: sourceLocation)
        #expect(Set(events.map(\.total)) == [total], sourceLocation: sourceLocation)
        #expect(events.filter { $0.completed == total }.count == 1, sourceLocation: sourceLocation)
        #expect(events.last?.completed == total, sourceLocation: sourceLocation)
    }

    @Test("a staged step then a storing step that counts again from zero make one growing phase; other phases pass")
    func mergesTwoSteps() {
        let recorder = Recorder()
        let progress = FetchingPhase.monotonic(recorder.handler)!
        for completed in stride(from: UInt64(0), through: 100, by: 25) {
            progress(ModelSyncKit.Progress(phase: "fetching", completed: completed, total: 100))
        }
        progress(ModelSyncKit.Progress(phase: "verifying", completed: 1, total: 2))
        // The store counts the staged bytes again, from zero, then the last blob it reads itself.
        for completed in [UInt64(0), 40, 100, 100] {
            progress(ModelSyncKit.Progress(phase: "fetching", completed: completed, total: 100))
        }
        Self.expectOnePhase(recorder.fetching, total: 100)
        #expect(recorder.events.withLock { $0 }.contains(ModelSyncKit.Progress(phase: "verifying", completed: 1, total: 2)))
        #expect(FetchingPhase.monotonic(nil) == nil)
    }

    @Test("a Git LFS pull reports one fetching phase, staging and storing together")
    func lfsPull() throws {
        let fixture = try LFSRegistryFixture()
        let sizes = [(2 << 20) + 3, 300_000, 5_000]
        for (index, size) in sizes.enumerated() {
            fixture.writeModel("f\(index).bin", pseudoRandomBytes(count: size, seed: UInt64(40 + index)))
        }
        fixture.writeModel("empty", [])
        #expect(try Publisher(workspace: fixture.publisher).publish().result == .published)
        let recorder = Recorder()
        let pulled = try Puller(workspace: fixture.client).pull(progress: recorder.handler)
        #expect(pulled.generation == 1)
        Self.expectOnePhase(recorder.fetching, total: UInt64(sizes.reduce(0, +)))
    }

    @Test("a pull of blobs held in git and in Git LFS at once counts both in one phase, staging included")
    func mixedGitAndLFSPull() throws {
        let fixture = try LFSRegistryFixture()
        let inGit = pseudoRandomBytes(count: 400_000, seed: 60)
        fixture.writeModel("in-git.bin", inGit)
        #expect(try Publisher(workspace: fixture.publisherWithoutLFS()).publish().result == .published)
        let throughLFS = pseudoRandomBytes(count: (1 << 20) + 7, seed: 61)
        fixture.writeModel("through-lfs.bin", throughLFS)
        #expect(try Publisher(workspace: fixture.publisher).publish().result == .published)
        #expect(fixture.server.storedObjects == [SHA256.hash(throughLFS).hex])

        let recorder = Recorder()
        #expect(try Puller(workspace: fixture.client).pull(progress: recorder.handler).generation == 1)
        Self.expectOnePhase(recorder.fetching, total: UInt64(inGit.count + throughLFS.count))
    }

    @Test("an OCI pull reports one fetching phase, staging and storing together")
    func ociPull() throws {
        let registry = try DistributionRegistry.start()
        let directory = TemporaryDirectory("oci-progress")
        let sizes = [(2 << 20) + 3, 300_000, 5_000]
        for (index, size) in sizes.enumerated() {
            directory.write("publisher/models/f\(index).bin", pseudoRandomBytes(count: size, seed: UInt64(50 + index)))
        }
        var workspaces: [Workspace] = []
        for side in ["publisher", "client"] {
            directory.write("\(side).yaml", """
                model_sync:
                  models_dir: \(directory.path)/\(side)/models
                  store_dir: \(directory.path)/\(side)/store
                  oci:
                    reference: "\(registry.host)/team/models"
                """)
            workspaces.append(try Workspace.resolve(configPath: directory.path + "/\(side).yaml", modelsDir: nil,
                                                    storeDir: nil, envFile: nil, processEnvironment: [:]))
        }
        #expect(try Publisher(workspace: workspaces[0]).publish().result == .published)
        let recorder = Recorder()
        let pulled = try Puller(workspace: workspaces[1]).pull(progress: recorder.handler)
        #expect(pulled.generation == 1)
        Self.expectOnePhase(recorder.fetching, total: UInt64(sizes.reduce(0, +)))
    }
}
