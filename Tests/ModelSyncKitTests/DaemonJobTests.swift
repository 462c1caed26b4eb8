import Foundation
import Testing
@testable import ModelSyncKit

private let asked = Digest(bytes: [UInt8](repeating: 0xab, count: 32))

private func manifest() throws -> Manifest {
    try Manifest(files: [
        ManifestEntry(path: "btc/model.onnx", size: 1000, digest: Digest(bytes: [UInt8](repeating: 1, count: 32))),
        ManifestEntry(path: "eth/model.onnx", size: 24, digest: Digest(bytes: [UInt8](repeating: 2, count: 32))),
    ])
}

@Suite("what a daemon run reports, and when it counts as a success")
struct DaemonJobTests {
    @Test("an activation is a success that carries its figures and the set's files and bytes")
    func activated() throws {
        let result = ActivationResult(result: .activated, generation: 4, manifest: asked, previousGeneration: 3,
                                      fetchedObjects: 2, fetchedBytes: 1024)
        let outcome = DaemonJob.outcome(of: result, manifest: try manifest())
        #expect(outcome == DaemonRunOutcome(result: "activated", generation: 4, manifest: asked, fetchedObjects: 2,
                                            fetchedBytes: 1024, files: 2, bytes: 1024, succeeded: true))
    }

    @Test("up to date is a success; without the manifest at hand, files and bytes are unknown")
    func upToDate() {
        let outcome = DaemonJob.outcome(of: ActivationResult(result: .upToDate, generation: 4, manifest: asked), manifest: nil)
        #expect(outcome.succeeded)
        #expect(outcome.result == "up-to-date")
        #expect(outcome.files == nil && outcome.bytes == nil)
    }

    @Test("a set rolled back after a failed health check is not a success, so the daemon retries")
    func rolledBack() {
        let result = ActivationResult(result: .rolledBack, generation: 3, manifest: asked, reason: "health check exited 1")
        let outcome = DaemonJob.outcome(of: result, manifest: nil)
        #expect(!outcome.succeeded)
        #expect(outcome.result == "rolled-back")
        #expect(outcome.generation == 3)
    }

    @Test("a held-back set is a success (retrying cannot change it), counted under its own result")
    func heldBack() {
        let result = ActivationResult(result: .heldBack, generation: 3, manifest: asked, reason: "rolled back from generation 4")
        let outcome = DaemonJob.outcome(of: result, manifest: nil)
        #expect(outcome.succeeded)
        #expect(outcome.result == "held-back")
        var metrics = DaemonMetrics()
        metrics.record(outcome, seconds: 1)
        #expect(metrics.render(role: .client).contains("model_sync_runs_total{role=\"client\",result=\"held-back\"} 1"))
    }

    @Test("an activation whose on_activate failed is not a success, though the set stands")
    func onActivateFailed() {
        var result = ActivationResult(result: .activated, generation: 5, manifest: asked)
        result.onActivateFailure = CommandFailedError(what: "on_activate", command: "false", outcome: .exited(1))
        let outcome = DaemonJob.outcome(of: result, manifest: nil)
        #expect(!outcome.succeeded)
        #expect(outcome.result == "activated")
    }

    @Test("a publish that returns is a success, its new blobs counted as fetched")
    func published() {
        let publish = Publisher.Result(result: .upToDate, manifest: asked, commit: nil, newObjects: 0, newBytes: 0,
                                       files: 7, bytes: 4096)
        #expect(DaemonJob.outcome(of: publish) == DaemonRunOutcome(result: "up-to-date", manifest: asked, files: 7,
                                                                   bytes: 4096, succeeded: true))
    }
}

@Suite("a daemon event as a JSON log line")
struct DaemonEventJSONTests {
    @Test("time, level, role and event come first-class; number fields are numbers, the rest strings")
    func encodesFlat() throws {
        let event = DaemonEvent(time: Date(timeIntervalSince1970: 1_778_403_600), level: .info, role: .client,
                                event: "run-finished", fields: [("result", "activated"), ("generation", "4"),
                                                                ("fetched_bytes", "2048"), ("seconds", "0.250")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = String(decoding: try encoder.encode(event), as: UTF8.self)
        #expect(line == #"{"event":"run-finished","fetched_bytes":2048,"generation":4,"level":"info","#
                + #""result":"activated","role":"client","seconds":0.25,"time":"2026-05-10T09:00:00Z"}"#)
    }

    @Test("text fields stay strings whatever they look like; nan, 1e5 and hex are not numbers")
    func textFieldsStayText() throws {
        let event = DaemonEvent(time: Date(timeIntervalSince1970: 0), level: .error, role: .client, event: "run-failed",
                                fields: [("error", "404"), ("stdout", "12"), ("exit_code", "4"), ("odd", "nan"),
                                         ("big", "1e5"), ("hex", "0x10"), ("neg", "-2.5")])
        let line = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["error"] as? String == "404")
        #expect(object["stdout"] as? String == "12")
        #expect(object["exit_code"] as? Int == 4)
        #expect(object["odd"] as? String == "nan")
        #expect(object["big"] as? String == "1e5")
        #expect(object["hex"] as? String == "0x10")
        #expect(object["neg"] as? Double == -2.5)
    }
}
