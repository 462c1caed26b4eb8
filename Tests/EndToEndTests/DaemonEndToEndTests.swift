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

    @Test("client daemon with --run-now pulls, logs one line per event, writes and serves metrics, and exits 0 on SIGTERM")
    func clientRunNowThenSigterm() throws {
        let port = try freePort()
        let fixture = RegistryFixture(files: 3, extraClientYAML: """
              client:
                schedule: "03:00"
              daemon:
                metrics_file: metrics/model_sync.prom
                metrics_listen: "127.0.0.1:\(port)"
            """)
        #expect(try fixture.publish().status == 0)
        let log = fixture.sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml", "--run-now"],
                               in: fixture.sandbox.path, log: log)
        #expect(waitFor("run-finished", in: log), "no run finished: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        // Prometheus scrapes the daemon itself: the set this host runs is a labelled info metric. The log line
        // comes just before the metrics are updated: poll a little.
        var scraped = try httpGet("http://127.0.0.1:\(port)/metrics")
        let deadline = Date().addingTimeInterval(10)
        while !scraped.body.contains("model_sync_active_manifest_info") && Date() < deadline {
            usleep(50_000)
            scraped = try httpGet("http://127.0.0.1:\(port)/metrics")
        }
        #expect(scraped.status == 200)
        let status1 = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        let manifest = try #require((status1.json["active"] as? [String: Any])?["manifest"] as? String)
        #expect(scraped.body.contains("model_sync_active_manifest_info{manifest=\"\(manifest)\",generation=\"1\",role=\"client\",host="),
                "\(scraped.body)")
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
        // Port 1 on this machine refuses connections: a network error, which waiting can fix.
        sandbox.write("client.yaml", Array("""
            model_sync:
              repo_dir: nowhere/repo
              repo_url: http://127.0.0.1:1/registry.git
              daemon:
                retry_initial_sec: 0.2
                retry_max_sec: 0.4
            """.utf8))
        let log = sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml", "--run-now"], in: sandbox.path, log: log)
        #expect(waitFor("attempt=2", in: log))
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon))
        #expect(daemon.terminationStatus == 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains(" error client run-failed error="))
        #expect(text.contains("127.0.0.1"))
        #expect(text.contains("exit_code=4"))
    }

    @Test("a new daemon waits for its slot instead of running at start")
    func waitsForSlot() throws {
        let sandbox = Sandbox()
        sandbox.write("client.yaml", Array("""
            model_sync:
              repo_dir: nowhere/repo
              repo_url: http://127.0.0.1:1/registry.git
            """.utf8))
        let log = sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml"], in: sandbox.path, log: log)
        #expect(waitFor(" started ", in: log))
        usleep(500_000)
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.contains("run-started"), "\(text)")
        #expect(text.contains("last_success=never"))
    }

    @Test("configuration a role needs is checked at start: exit 2 at once, naming the key")
    func configurationCheckedAtStart() throws {
        let sandbox = Sandbox()
        sandbox.write("bot.yaml", Array("""
            model_sync:
              repo_dir: registry
              runpod:
                enabled: false
              publisher:
                train_before_push: true
            """.utf8))
        let runpod = try sandbox.cli.run(["daemon", "--role", "runpod_client", "--config", "bot.yaml"])
        #expect(runpod.status == 2)
        #expect(runpod.stderr.contains("runpod.enabled"))
        let publisher = try sandbox.cli.run(["daemon", "--role", "publisher", "--config", "bot.yaml"])
        #expect(publisher.status == 2)
        #expect(publisher.stderr.contains("train_command"))
        sandbox.write("client.yaml", Array("""
            model_sync:
              git:
                token_env: REGISTRY_TOKEN
            """.utf8))
        let client = try sandbox.cli.run(["daemon", "--role", "client", "--config", "client.yaml"])
        #expect(client.status == 2)
        #expect(client.stderr.contains("repo_dir"))
        sandbox.write("client2.yaml", Array("""
            model_sync:
              repo_dir: registry
              git:
                token_env: REGISTRY_TOKEN
            """.utf8))
        let token = try sandbox.cli.run(["daemon", "--role", "client", "--config", "client2.yaml"])
        #expect(token.status == 2)
        #expect(token.stderr.contains("REGISTRY_TOKEN"))
    }

    @Test("an error retrying cannot fix stops the daemon with its exit code, a log line and a metric")
    func unhealableErrorStops() throws {
        let sandbox = Sandbox()
        sandbox.write("client.yaml", Array("""
            model_sync:
              repo_dir: nowhere/repo
              daemon:
                retry_initial_sec: 0.2
                metrics_file: metrics/model_sync.prom
            """.utf8))
        let log = sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml", "--run-now"], in: sandbox.path, log: log)
        #expect(waitForExit(daemon))
        #expect(daemon.terminationStatus == 2)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains(" error client run-failed error="))
        #expect(text.contains("repo_dir"))
        #expect(text.contains(" error client stopped "))
        #expect(!text.contains("attempt=2"))
        let metrics = try String(contentsOfFile: sandbox.path + "/metrics/model_sync.prom", encoding: .utf8)
        #expect(metrics.contains("model_sync_stopped_on_error{role=\"client\"} 2"))
    }

    @Test("SIGHUP re-reads the YAML and .env; an invalid new configuration is logged and the old one kept")
    func sighupReloads() throws {
        let sandbox = Sandbox()
        let yaml = """
            model_sync:
              repo_dir: registry
              git:
                token_env: REGISTRY_TOKEN
              client:
                schedule: "%@"
            """
        sandbox.write("client.yaml", Array(String(format: yaml, "03:00").utf8))
        sandbox.write(".env", Array("REGISTRY_TOKEN=first-secret-value\n".utf8))
        let log = sandbox.path + "/daemon.log"
        let daemon = try start(["daemon", "--role", "client", "--config", "client.yaml"], in: sandbox.path, log: log)
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(waitFor(" started ", in: log))
        // Broken YAML: refused, the daemon keeps running on the old file.
        sandbox.write("client.yaml", Array("model_sync: [\n".utf8))
        kill(daemon.processIdentifier, SIGHUP)
        #expect(waitFor("reload-failed", in: log))
        #expect(daemon.isRunning)
        // The token removed from .env: refused too (the check at start runs again).
        sandbox.write("client.yaml", Array(String(format: yaml, "04:30").utf8))
        sandbox.write(".env", Array("OTHER=1\n".utf8))
        kill(daemon.processIdentifier, SIGHUP)
        #expect(waitFor("REGISTRY_TOKEN", in: log))
        // Fixed: the new schedule is taken.
        sandbox.write(".env", Array("REGISTRY_TOKEN=second-secret-value\n".utf8))
        kill(daemon.processIdentifier, SIGHUP)
        #expect(waitFor("reloaded schedule=04:30", in: log))
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon))
        #expect(daemon.terminationStatus == 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.components(separatedBy: "reload-failed").count == 3, "\(text)")
        #expect(!text.contains("secret-value"))
    }

    @Test("daemon needs --config and a known role")
    func usage() throws {
        let sandbox = Sandbox()
        #expect(try sandbox.cli.run(["daemon", "--role", "client"]).status == 2)
        #expect(try sandbox.cli.run(["daemon", "--role", "bot", "--config", "x.yaml"]).status == 2)
    }
}
