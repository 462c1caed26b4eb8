import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures/runpod/server.py on 127.0.0.1 with a scenario file in the sandbox; stopped with SIGKILL.
private final class RunPodStandIn {
    private let process = Process()
    let port: Int
    let scenarioPath: String

    init(sandbox: Sandbox, scenario: [String: Any]) throws {
        scenarioPath = sandbox.path + "/scenario.json"
        let script = CLI.packageRoot + "/Fixtures/runpod/server.py"
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--scenario", scenarioPath]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: scenarioPath))
        try process.run()
        guard let port = readPortLine(output.fileHandleForReading.fileDescriptor) else {
            kill(process.processIdentifier, SIGKILL)
            throw CLIError.timedOut(["server.py"])
        }
        self.port = port
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func update(_ scenario: [String: Any]) throws {
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: scenarioPath))
    }

    private func get(_ path: String) throws -> [[String: Any]] {
        // Foundation on Linux reads no http:// URL without FoundationNetworking: ask Python.
        let fetch = Process()
        let pipe = Pipe()
        fetch.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        fetch.arguments = ["python3", "-c", "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())",
                           "http://127.0.0.1:\(port)\(path)"]
        fetch.standardOutput = pipe
        try fetch.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        fetch.waitUntilExit()
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    /// Every request the stand-in received (the test's own /_ queries included).
    func requests() throws -> [[String: Any]] { try get("/_requests") }
    /// The `input` of every /run.
    func runs() throws -> [[String: Any]] { try get("/_runs") }
}

private let keyVariable = "MODEL_SYNC_TEST_RUNPOD_KEY"

private func config(port: Int, jobTimeout: Double = 30, extra: String = "") -> String {
    """
    model_sync:
      models_dir: models
      runpod:
        enabled: true
        trigger_url: "http://127.0.0.1:\(port)/v2/endpoint1/run"
        status_url_template: "http://127.0.0.1:\(port)/v2/endpoint1/status/{job_id}"
        api_key_env: "\(keyVariable)"
        trigger_payload: {input: {prompt: "train"}}
        poll_interval_sec: 0.05
        job_timeout_sec: \(jobTimeout)
        download_timeout_sec: 5
        extract_subdir: "models"
    \(extra)
    """
}

private func pull(_ sandbox: Sandbox, key: String? = "test-key") throws -> CLI.Result {
    var environment: [String: String] = [:]
    if let key { environment[keyVariable] = key }
    return try CLI(in: sandbox.path, environment: environment)
        .run(["runpod-pull", "--config", "bot.yaml", "--json"], timeout: 60)
}

@Suite("runpod-pull against a loopback RunPod stand-in", .serialized)
struct RunPodEndToEndTests {
    @Test("a legacy archive is imported from extract_subdir, activated, and logged as a runpod pull")
    func legacyArchive() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "file", "path": CLI.packageRoot + "/Fixtures/archives/legacy-valid.zip"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json["result"] as? String == "activated")
        #expect(result.json["generation"] as? Int == 1)
        #expect(result.json["fetched_objects"] as? Int == 2)
        #expect(sandbox.read("models/btc/model.onnx") == Array("btc-onnx-bytes".utf8) + [0, 1, 2, 10])
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/models/README.txt"))
        let log = try sandbox.cli.run(["log", "--json"])
        let events = (log.json["events"] as? [[String: Any]]) ?? []
        #expect(events.contains { $0["kind"] as? String == "pull" && $0["reason"] as? String == "runpod" })
        // The payload kept trigger_payload and added model_sync.
        let run = try #require(try server.runs().first)
        #expect(run["prompt"] as? String == "train")
        #expect((run["model_sync"] as? [String: Any])?["protocol"] as? Int == 1)
        #expect((run["model_sync"] as? [String: Any])?["have"] as? [String] == [])
    }

    @Test("a delta pull after one change downloads only the missing blob; the key never reaches the archive host")
    func deltaArchive() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/btc/model.onnx", pseudoRandomBytes(count: 300_000, seed: 1))
        sandbox.write("worker/models/eth/model.onnx", pseudoRandomBytes(count: 200_000, seed: 2))
        sandbox.write("worker/models/sol/model.onnx", pseudoRandomBytes(count: 100_000, seed: 3))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let first = try pull(sandbox)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.json["fetched_objects"] as? Int == 3)
        #expect(first.json["fetched_bytes"] as? Int == 600_000)

        sandbox.write("worker/models/eth/model.onnx", pseudoRandomBytes(count: 200_000, seed: 22))
        let second = try pull(sandbox)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.json["result"] as? String == "activated")
        #expect(second.json["generation"] as? Int == 2)
        #expect(second.json["fetched_objects"] as? Int == 1)
        #expect(second.json["fetched_bytes"] as? Int == 200_000)
        #expect(sandbox.read("models/eth/model.onnx") == pseudoRandomBytes(count: 200_000, seed: 22))

        let runs = try server.runs()
        #expect(((runs.last?["model_sync"] as? [String: Any])?["have"] as? [String])?.count == 3)
        // The second archive carried one blob: its size is the blob plus the manifest and zip framing.
        let packed = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/runpod-files").filter { $0.hasSuffix(".zip") }
        let sizes = try packed.map { try FileManager.default.attributesOfItem(atPath: sandbox.path + "/runpod-files/" + $0)[.size] as? Int ?? 0 }
        #expect(sizes.min() ?? 0 < 200_000 + 2_000)

        let requests = try server.requests()
        let api = requests.filter { ["run", "status", "cancel"].contains($0["route"] as? String) }
        let files = requests.filter { $0["route"] as? String == "files" }
        #expect(!api.isEmpty && api.allSatisfy { $0["authorization"] as? String == "Bearer test-key" })
        #expect(files.count == 2 && files.allSatisfy { $0["authorization"] is NSNull })
        #expect(!first.stderr.contains("X-Amz-Signature") && !second.stderr.contains("presigned"))
    }

    @Test("the archive may come back inline as archive_base64")
    func base64Archive() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "file", "path": CLI.packageRoot + "/Fixtures/archives/delta-valid.zip"],
            "delivery": "base64",
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(sandbox.read("models/eth/model.onnx") == Array("weights of the eth model\n".utf8))
    }

    @Test("a FAILED job exits 4 with the job's error message decoded from the SDK's JSON")
    func failedJob() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "statuses": ["IN_QUEUE", "FAILED"], "error": "CUDA out of memory",
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 4)
        #expect(result.stderr.contains("failed: CUDA out of memory\n"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/models"))
    }

    @Test("a TIMED_OUT job exits 4")
    func timedOutJob() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["statuses": ["IN_PROGRESS", "TIMED_OUT"]])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 4)
        #expect(result.stderr.contains("timed out on RunPod (TIMED_OUT)"), "\(result.stderr)")
    }

    @Test("a job that never finishes is cancelled at job_timeout_sec and the pull exits 4")
    func neverFinishes() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["statuses": ["IN_QUEUE", "IN_PROGRESS"]])
        sandbox.write("bot.yaml", Array(config(port: server.port, jobTimeout: 0.5).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 4)
        #expect(result.stderr.contains("did not finish within job_timeout_sec (0.5 s); cancelled"), "\(result.stderr)")
        let cancels = try server.requests().filter { $0["route"] as? String == "cancel" }
        #expect(cancels.count == 1)
        #expect((cancels.first?["path"] as? String)?.hasPrefix("/v2/endpoint1/cancel/") == true)
        #expect(cancels.first?["authorization"] as? String == "Bearer test-key")
    }

    @Test("an archive larger than runpod.max_archive_bytes is refused before download (exit 3), the active set untouched")
    func archiveTooLarge() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 50_000, seed: 21))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port, extra: "    max_archive_bytes: 10000").utf8))
        let result = try pull(sandbox)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("more than runpod.max_archive_bytes (10000)"))
        #expect(try server.requests().filter { $0["route"] as? String == "files" }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/models"))
    }

    @Test("SIGTERM to a runpod_client daemon waiting on a job cancels the job and exits 0 at once")
    func daemonStopsWhilePolling() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["statuses": ["IN_QUEUE", "IN_PROGRESS"]])
        sandbox.write("bot.yaml", Array(config(port: server.port, jobTimeout: 3600).utf8))
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CLI.binary)
        daemon.arguments = ["daemon", "--role", "runpod_client", "--config", "bot.yaml", "--run-now"]
        daemon.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        var environment = ProcessInfo.processInfo.environment
        environment[keyVariable] = "test-key"
        daemon.environment = environment
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        // Wait until the job is being polled, then stop the daemon.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try server.requests().filter({ $0["route"] as? String == "status" }).count < 2 {
            usleep(50_000)
        }
        let stopped = Date()
        kill(daemon.processIdentifier, SIGTERM)
        while daemon.isRunning && Date().timeIntervalSince(stopped) < 10 { usleep(20_000) }
        if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        daemon.waitUntilExit()
        #expect(daemon.terminationReason == .exit && daemon.terminationStatus == 0)
        #expect(Date().timeIntervalSince(stopped) < 5)
        #expect(try server.requests().filter { $0["route"] as? String == "cancel" }.count == 1)
    }

    @Test("a runpod-pull killed while polling leaves its job recorded; the next one resumes it instead of paying for another")
    func killedPullResumesJob() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 20_000, seed: 31))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "statuses": ["IN_QUEUE"] + Array(repeating: "IN_PROGRESS", count: 60) + ["COMPLETED"],
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let first = Process()
        first.executableURL = URL(fileURLWithPath: CLI.binary)
        first.arguments = ["runpod-pull", "--config", "bot.yaml"]
        first.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        first.environment = ProcessInfo.processInfo.environment.merging([keyVariable: "test-key"]) { $1 }
        first.standardError = FileHandle.nullDevice
        try first.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try server.requests().filter({ $0["route"] as? String == "status" }).count < 3 {
            usleep(20_000)
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let result = try pull(sandbox)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(sandbox.read("models/a.bin") == pseudoRandomBytes(count: 20_000, seed: 31))
        #expect(try server.runs().count == 1, "a second paid job was started")
        let polled = Set(try server.requests().filter { $0["route"] as? String == "status" }.compactMap { $0["path"] as? String })
        #expect(polled.count == 1, "\(polled)")
        // Finished with: a third pull starts a new job (the set is up to date on its side).
        _ = try pull(sandbox)
        #expect(try server.runs().count == 2)
    }

    @Test("after a failed job no new one is triggered before runpod.retry_min_sec, and never more than max_jobs_per_day")
    func failedJobsAreThrottled() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["statuses": ["IN_QUEUE", "FAILED"], "error": "CUDA out of memory"])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        #expect(try pull(sandbox).status == 4)
        let again = try pull(sandbox)
        #expect(again.status == 4)
        #expect(again.stderr.contains("the last RunPod job failed at "), "\(again.stderr)")
        #expect(again.stderr.contains("runpod.retry_min_sec: 900"))
        #expect(try server.runs().count == 1)

        // Without the minimum, the daily cap stops the third trigger.
        sandbox.write("bot.yaml", Array(config(port: server.port, extra: """
                retry_min_sec: 0
                max_jobs_per_day: 2
            """).utf8))
        #expect(try pull(sandbox).status == 4)
        #expect(try server.runs().count == 2)
        let capped = try pull(sandbox)
        #expect(capped.status == 4)
        #expect(capped.stderr.contains("the cap of runpod.max_jobs_per_day (2)"), "\(capped.stderr)")
        #expect(try server.runs().count == 2)
    }

    @Test("a runpod_client daemon logs each job it triggers with its id, counts it, and does not retrigger a failure at once")
    func daemonLogsAndCountsJobs() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["statuses": ["IN_QUEUE", "FAILED"]])
        sandbox.write("bot.yaml", Array(config(port: server.port, extra: """
              daemon:
                retry_initial_sec: 0.1
                metrics_file: metrics/model_sync.prom
            """).utf8))
        let log = sandbox.path + "/daemon.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CLI.binary)
        daemon.arguments = ["daemon", "--role", "runpod_client", "--config", "bot.yaml", "--run-now"]
        daemon.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        daemon.environment = ProcessInfo.processInfo.environment.merging([keyVariable: "test-key"]) { $1 }
        daemon.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try daemon.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("run-failed") {
            usleep(50_000)
        }
        usleep(500_000) // retry_initial_sec would have retried by now, were it not for runpod.retry_min_sec
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        let id = try #require(try server.runs().count == 1 ? server.requests().first { $0["route"] as? String == "status" }?["path"] as? String : nil)
        #expect(text.contains("runpod-job-submitted job_id=" + (id.split(separator: "/").last.map(String.init) ?? "?")), "\(text)")
        #expect(text.components(separatedBy: "run-started").count == 2, "\(text)")
        let metrics = try String(contentsOfFile: sandbox.path + "/metrics/model_sync.prom", encoding: .utf8)
        #expect(metrics.contains("model_sync_runpod_jobs_total{role=\"runpod_client\"} 1"))
    }

    @Test("a job that returns the set the user rolled back from is held back, not activated again")
    func rolledBackSetIsHeld() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 10_000, seed: 41))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        #expect(try pull(sandbox).json["generation"] as? Int == 1)
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 10_000, seed: 42))
        let second = try pull(sandbox)
        #expect(second.json["generation"] as? Int == 2, "\(second.stderr)")
        #expect(try CLI(in: sandbox.path).run(["rollback", "--config", "bot.yaml"]).status == 0)
        let held = try pull(sandbox)
        #expect(held.status == 0, "\(held.stderr)")
        #expect(held.json["result"] as? String == "held-back")
        #expect(held.json["generation"] as? Int == 1)
        #expect(sandbox.read("models/a.bin") == pseudoRandomBytes(count: 10_000, seed: 41))
    }

    @Test("429s on status are retried; a download dropped halfway is resumed with a Range request")
    func rateLimitAndResume() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 400_000, seed: 5))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
            "rate_limit": 3, "drop_halfway": true,
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(sandbox.read("models/a.bin") == pseudoRandomBytes(count: 400_000, seed: 5))
        let requests = try server.requests()
        #expect(requests.filter { $0["route"] as? String == "status" }.count >= 6)
        let files = requests.filter { $0["route"] as? String == "files" }
        #expect(files.count == 2)
        #expect((files.last?["range"] as? String)?.hasPrefix("bytes=") == true)
    }

    @Test("an archive whose sha256 differs from archive_sha256 exits 3 and leaves the active set alone")
    func wrongSHA() throws {
        let sandbox = Sandbox()
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 1000, seed: 5))
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
        ])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        #expect(try pull(sandbox).status == 0)
        sandbox.write("worker/models/a.bin", pseudoRandomBytes(count: 1000, seed: 6))
        try server.update([
            "archive": ["mode": "pack", "binary": CLI.binary, "models_dir": sandbox.path + "/worker/models"],
            "wrong_sha256": true,
        ])
        let result = try pull(sandbox)
        #expect(result.status == 3)
        #expect(result.stderr.contains("the job announced sha256:0000"), "\(result.stderr)")
        #expect(sandbox.read("models/a.bin") == pseudoRandomBytes(count: 1000, seed: 5))
        let status = try sandbox.cli.run(["status", "--json"])
        #expect((status.json["active"] as? [String: Any])?["generation"] as? Int == 1)
    }

    @Test("a wrong key exits 4 with \"API key rejected\" and the key appears nowhere in the output")
    func wrongKey() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: [:])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let secret = "rp_WRONG_8f3a9c2e71d04b56"
        let result = try pull(sandbox, key: secret)
        #expect(result.status == 4)
        #expect(result.stderr.contains("API key rejected"), "\(result.stderr)")
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        #expect(!result.stderr.contains("rp_WRONG"))
    }

    @Test("a missing key exits 2 naming the variable")
    func missingKey() throws {
        let sandbox = Sandbox()
        sandbox.write("bot.yaml", Array(config(port: 9).utf8))
        let result = try pull(sandbox, key: nil)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(keyVariable) is not set in the environment or .env"), "\(result.stderr)")
    }

    @Test("a 404 on a submitted job exits 4: job expired or unknown")
    func expiredJob() throws {
        let sandbox = Sandbox()
        let server = try RunPodStandIn(sandbox: sandbox, scenario: ["expire": true])
        sandbox.write("bot.yaml", Array(config(port: server.port).utf8))
        let result = try pull(sandbox)
        #expect(result.status == 4)
        #expect(result.stderr.contains("expired or unknown"), "\(result.stderr)")
    }

    @Test("runpod-pull --from-archive imports a local archive; a hostile one exits 3 with the active set untouched")
    func fromArchive() throws {
        let sandbox = Sandbox()
        sandbox.write("bot.yaml", Array("model_sync:\n  models_dir: models\n".utf8))
        let fixtures = CLI.packageRoot + "/Fixtures/archives/"
        let good = try sandbox.cli.run(["runpod-pull", "--config", "bot.yaml", "--from-archive", fixtures + "delta-valid.zip", "--json"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.json["fetched_objects"] as? Int == 2)
        for name in ["hostile-dotdot.zip", "hostile-symlink.zip", "hostile-bomb.zip", "hostile-legacy-crc-late.zip"] {
            let bad = try sandbox.cli.run(["runpod-pull", "--config", "bot.yaml", "--from-archive", fixtures + name, "--json"])
            #expect(bad.status == 3, "\(name): \(bad.stderr)")
            // With --json the failure is the one object on stdout.
            #expect((bad.json["error"] as? [String: Any])?["exit_code"] as? Int == 3, "\(name): \(bad.stdout)")
            #expect(sandbox.read("models/btc/model.onnx") == Array("weights of the btc model\n".utf8))
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/evil"))
        let status = try sandbox.cli.run(["status", "--json"])
        #expect((status.json["active"] as? [String: Any])?["generation"] as? Int == 1)
    }

    @Test("pack --json prints archive, archive_sha256, archive_size, manifest and objects; twice gives the same bytes")
    func packCommand() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 50_000, seed: 1))
        sandbox.write("models/b.txt", Array(String(repeating: "text ", count: 1000).utf8))
        let first = try sandbox.cli.run(["pack", "--archive-path", "one.zip", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try sandbox.cli.run(["pack", "--archive-path", "two.zip", "--json"])
        #expect(first.json["archive_sha256"] as? String == second.json["archive_sha256"] as? String)
        #expect(sandbox.read("one.zip") == sandbox.read("two.zip"))
        #expect(first.json["archive"] as? String == sandbox.path + "/one.zip")
        #expect(first.json["archive_size"] as? Int == sandbox.read("one.zip").count)
        #expect((first.json["manifest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(first.json["objects"] as? Int == 2)
        let manifest = try #require(first.json["manifest"] as? String)
        let imported = try sandbox.cli.run(["import", "models", "--json"])
        #expect(imported.json["manifest"] as? String == manifest)
    }
}
