#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite("model-sync daemon, run as an operator would", .serialized)
struct DaemonEndToEndTests {
    /// Starts `model-sync daemon …` with stderr to a file; the caller stops it.
    func start(_ arguments: [String], in directory: String, log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until `log` contains `text` (or the timeout passes).
    func waitFor(_ text: String, in log: String, timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let content = try? String(contentsOfFile: log, encoding: .utf8), content.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    /// Waits for the process to end; SIGKILL and false after the timeout.
    func waitForExit(_ process: Process, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        return true
    }

    @Test("client daemon with --run-now pulls, logs one line per event, writes metrics, and exits 0 on SIGTERM")
    func clientRunNowThenSigterm() throws {
        let fixture = RegistryFixture(files: 3, extraClientYAML: """
              client:
                schedule: "03:00"
              daemon:
                metrics_file: metrics/model_sync.prom
            """)
        #expect(try fixture.publish().status == 0)
        let log = fixture.sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml", "--run-now"],
                               in: fixture.sandbox.path, log: log)
        #expect(waitFor("run-finished", in: log), "no run finished: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon), "the daemon did not stop on SIGTERM")
        #expect(daemon.terminationReason == .exit)
        #expect(daemon.terminationStatus == 0)

        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.first?.contains(" info client started schedule=03:00") == true)
        let finished = try #require(lines.first { $0.contains(" run-finished ") })
        #expect(finished.contains("result=activated"))
        #expect(finished.contains("generation=1"))
        #expect(finished.contains("fetched_objects=3"))
        #expect(finished.contains("files=3"))
        #expect(finished.contains("bytes=60003"))
        #expect(finished.contains("seconds="))
        #expect(lines.last?.contains(" info client stopped") == true)

        // status shows what the daemon last did.
        let status = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        let client = try #require((status.json["daemons"] as? [String: Any])?["client"] as? [String: Any])
        #expect(client["last_result"] as? String == "activated")
        #expect(client["last_success"] is String)
        #expect(client["last_error"] is NSNull)

        let metrics = try String(contentsOfFile: fixture.sandbox.path + "/metrics/model_sync.prom", encoding: .utf8)
        #expect(metrics.contains("model_sync_runs_total{role=\"client\",result=\"activated\"} 1"))
        #expect(metrics.contains("model_sync_active_generation{role=\"client\"} 1"))
        #expect(metrics.contains("model_sync_fetched_objects_total{role=\"client\"} 3"))

        // The state lives in the index: a restart within the same day does not run again (no catch-up).
        let second = try start(["daemon", "--role", "client", "--config", "client.yaml", "--log-format", "json"],
                               in: fixture.sandbox.path, log: fixture.sandbox.path + "/daemon2.log")
        #expect(waitFor("\"event\":\"started\"", in: fixture.sandbox.path + "/daemon2.log"))
        usleep(300_000)
        kill(second.processIdentifier, SIGINT)
        #expect(waitForExit(second))
        #expect(second.terminationStatus == 0)
        let json = try String(contentsOfFile: fixture.sandbox.path + "/daemon2.log", encoding: .utf8)
        #expect(!json.contains("run-started"))
        let first = try #require(json.split(separator: "\n").first)
        let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        #expect(object?["role"] as? String == "client")
        #expect(object?["last_success"] as? String != "never")
    }

    @Test("a failed run is logged with its error and retried; SIGTERM while waiting exits 0")
    func failureIsRetried() throws {
        let sandbox = Sandbox()
        sandbox.write("client.yaml", Array("""
            model_sync:
              repo_dir: nowhere/repo
              daemon:
                retry_initial_sec: 0.2
                retry_max_sec: 0.4
            """.utf8))
        let log = sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml"], in: sandbox.path, log: log)
        // Never succeeded: it runs at start (catch-up), fails, and retries.
        #expect(waitFor("attempt=2", in: log))
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon))
        #expect(daemon.terminationStatus == 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains(" error client run-failed error="))
        #expect(text.contains("repo_dir"))
        #expect(text.contains("exit_code=2"))
    }

    @Test("daemon needs --config and a known role")
    func usage() throws {
        let sandbox = Sandbox()
        #expect(try sandbox.cli.run(["daemon", "--role", "client"]).status == 2)
        #expect(try sandbox.cli.run(["daemon", "--role", "bot", "--config", "x.yaml"]).status == 2)
    }
}
