#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite("configured commands and secrets, run as a user would", .serialized)
struct ShellAndSecretsEndToEndTests {
    static let dotEnvSecret = "dotenv-s3cret-0123456789"
    static let variableSecret = "var-s3cret-9876543210"
    static let apiKey = "rp-s3cret-key-abcdefgh"
    static let environment = ["VAR_SECRET": variableSecret, "RUNPOD_API_KEY": apiKey]

    /// Fails the test when `text` holds any secret or a recognisable piece of one (a half cut by truncation).
    static func expectNoSecret(_ text: String, _ context: String) {
        for secret in [dotEnvSecret, variableSecret, apiKey] {
            #expect(!text.contains(String(secret.prefix(10))), "\(context) shows a secret: \(text)")
            #expect(!text.contains(String(secret.suffix(10))), "\(context) shows a secret: \(text)")
        }
    }

    @Test("a models folder named a b'c;touch PWNED reaches health_check and on_activate whole and runs nothing")
    func hostileModelsFolder() throws {
        let sandbox = Sandbox()
        let folder = "a b'c;touch PWNED"
        sandbox.write("\(folder)/models/m.bin", pseudoRandomBytes(count: 1000, seed: 7))
        sandbox.write("next/m.bin", pseudoRandomBytes(count: 1000, seed: 9))
        sandbox.write(".env", "DOTENV_SECRET=\(Self.dotEnvSecret)\n")
        sandbox.write("bot.yaml", #"""
            model_sync:
              models_dir: "a b'c;touch PWNED/models"
              activation:
                health_check: "test -d {models_dir} && printf '%s' {models_dir} > hc.out"
                on_activate: "printf '%s|%s|%s' \"{models_dir}\" '{generation}' {manifest} > hook.out; env > env.out"
            """#)
        let cli = CLI(in: sandbox.path, environment: Self.environment)
        let imported = try cli.run(["import", "next", "--config", "bot.yaml"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let digest = imported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let activated = try cli.run(["activate", digest, "--config", "bot.yaml", "--json"])
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(activated.json["result"] as? String == "activated")

        let models = sandbox.path + "/" + folder + "/models"
        #expect(String(decoding: sandbox.read("hc.out"), as: UTF8.self) == models)
        #expect(String(decoding: sandbox.read("hook.out"), as: UTF8.self) == "\(models)|2|\(digest)")
        let found = FileManager.default.enumerator(atPath: sandbox.path)?.allObjects as? [String] ?? []
        #expect(!found.contains { $0.split(separator: "/").last == "PWNED" }, "a file named PWNED was created: \(found)")

        // The hook named no secret: neither the .env value nor the RunPod key (api_key_env) reached it; the rest
        // of the process's own environment did.
        let environment = String(decoding: sandbox.read("env.out"), as: UTF8.self)
        #expect(environment.contains("MODEL_SYNC_GENERATION=2"))
        #expect(environment.contains("VAR_SECRET=\(Self.variableSecret)"))
        #expect(!environment.contains(Self.dotEnvSecret))
        #expect(!environment.contains(Self.apiKey))
    }

    @Test("secrets from .env and ${VAR} appear in no output of failing commands, --json errors included")
    func failingCommandsShowNoSecret() throws {
        let sandbox = Sandbox()
        sandbox.write("models/m.bin", pseudoRandomBytes(count: 1000, seed: 8))
        sandbox.write("next/m.bin", pseudoRandomBytes(count: 1000, seed: 10))
        sandbox.write(".env", "DOTENV_SECRET=\(Self.dotEnvSecret)\n")
        sandbox.write("bot.yaml", #"""
            model_sync:
              remote: "${VAR_SECRET}"
              repo_dir: client/repo
              repo_url: "http://127.0.0.1:9/${DOTENV_SECRET}/registry.git"
              runpod:
                enabled: true
                trigger_url: "http://127.0.0.1:9/${DOTENV_SECRET}/run"
                status_url_template: "http://127.0.0.1:9/${VAR_SECRET}/status/{job_id}"
                headers: {X-Key: "${VAR_SECRET}"}
                request_timeout_sec: 2
              activation:
                health_check: 'echo "$DOTENV_SECRET ${VAR_SECRET} $RUNPOD_API_KEY"; echo "$DOTENV_SECRET" >&2; exit 1'
            """#)
        let cli = CLI(in: sandbox.path, environment: Self.environment)
        let digest = try cli.run(["import", "next", "--config", "bot.yaml"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let runs: [[String]] = [
            ["pull", "--config", "bot.yaml", "--json"],
            ["runpod-pull", "--config", "bot.yaml", "--json"],
            ["activate", digest, "--config", "bot.yaml", "--json"],
            ["activate", digest, "--config", "bot.yaml", "-v"],
            ["status", "--config", "bot.yaml", "--json"],
        ]
        for arguments in runs {
            let result = try cli.run(arguments)
            let context = arguments.joined(separator: " ")
            #expect(result.status != 0 || arguments[0] == "status", "\(context) should fail")
            #expect(result.status != 1, "\(context) exited 1: \(result.stderr)")
            Self.expectNoSecret(result.stdout, context + " (stdout)")
            Self.expectNoSecret(result.stderr, context + " (stderr)")
        }
        // The health check printed the secrets it named; they were scrubbed on the way to our stderr.
        let check = try cli.run(["activate", digest, "--config", "bot.yaml", "--force"])
        #expect(check.status == 6)
        #expect(check.stderr.contains("[redacted] [redacted] [redacted]"), "\(check.stderr)")
    }

    @Test("a .env value used as the models folder is a path, shown as such; the other .env values are scrubbed")
    func dotEnvPathIsShown() throws {
        let sandbox = Sandbox()
        sandbox.write("bot-models/m.bin", pseudoRandomBytes(count: 100, seed: 3))
        sandbox.write(".env", "MODELS=bot-models\nDOTENV_SECRET=\(Self.dotEnvSecret)\n")
        sandbox.write("bot.yaml", "model_sync:\n  models_dir: ${MODELS}\n  remote: ${DOTENV_SECRET}\n")
        let cli = CLI(in: sandbox.path)
        #expect(try cli.run(["import", "--config", "bot.yaml"]).status == 0)
        let status = try cli.run(["status", "--config", "bot.yaml", "--json"])
        #expect(status.status == 0)
        #expect((status.json["models_dir"] as? String)?.hasSuffix("/bot-models") == true, "\(status.stdout)")
        let pull = try cli.run(["pull", "--config", "bot.yaml"])
        #expect(pull.status == 2)
        Self.expectNoSecret(pull.stderr, "pull")
    }

    @Test("the training command gets {models_dir} quoted, the secrets it names, and no other")
    func trainingCommand() throws {
        let fixture = RegistryFixture(files: 1, extraPublisherYAML: #"""
              publisher:
                train_before_push: true
                train_command: 'printf "%s|%s" {models_dir} "$DOTENV_NAMED" > train.out; env > train.env; echo "$DOTENV_NAMED"'
            """#)
        fixture.sandbox.write(".env", "DOTENV_NAMED=named-s3cret-value\nDOTENV_SECRET=\(Self.dotEnvSecret)\n")
        let published = try CLI(in: fixture.sandbox.path, environment: Self.environment)
            .run(["publish", "--config", "publisher.yaml"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(String(decoding: fixture.sandbox.read("train.out"), as: UTF8.self)
                == fixture.sandbox.path + "/publisher/models|named-s3cret-value")
        let environment = String(decoding: fixture.sandbox.read("train.env"), as: UTF8.self)
        #expect(environment.contains("DOTENV_NAMED=named-s3cret-value"))
        #expect(!environment.contains(Self.dotEnvSecret))
        #expect(!environment.contains(Self.apiKey))
        // It printed the secret it was given: scrubbed on the way to our stderr.
        #expect(!published.stderr.contains("named-s3cret-value"))
        #expect(published.stderr.contains("[redacted]"))
    }

    @Test("--log-format json lines are pure JSON: a health check's output is captured as fields, secrets scrubbed")
    func daemonJSONLog() throws {
        let fixture = RegistryFixture(files: 2, extraClientYAML: #"""
              activation:
                health_check: 'printf "out \"quoted\" {x}\nsecond line $DOTENV_SECRET\n"; echo "err: $RUNPOD_API_KEY" >&2'
              daemon:
                retry_initial_sec: 60
            """#)
        #expect(try fixture.publish().status == 0)
        fixture.sandbox.write(".env", "DOTENV_SECRET=\(Self.dotEnvSecret)\n")
        let daemons = DaemonEndToEndTests()
        let log = fixture.sandbox.path + "/daemon.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CLI.binary)
        daemon.arguments = ["daemon", "--role", "client", "--config", "client.yaml", "--run-now", "--log-format", "json"]
        daemon.currentDirectoryURL = URL(fileURLWithPath: fixture.sandbox.path)
        daemon.environment = ProcessInfo.processInfo.environment.merging(["RUNPOD_API_KEY": Self.apiKey]) { $1 }
        daemon.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        #expect(daemons.waitFor("run-finished", in: log))
        kill(daemon.processIdentifier, SIGTERM)
        #expect(daemons.waitForExit(daemon))

        let text = try String(contentsOfFile: log, encoding: .utf8)
        Self.expectNoSecret(text, "the daemon's log")
        var events: [[String: Any]] = []
        for line in text.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { events.append(object) }
        }
        let check = try #require(events.first { $0["event"] as? String == "command-finished" })
        #expect(check["command"] as? String == "activation.health_check")
        #expect(check["stdout"] as? String == "out \"quoted\" {x}\nsecond line [redacted]\n")
        #expect(check["stderr"] as? String == "err: [redacted]\n")
        #expect(check["exit_status"] as? Int == 0)
        let finished = try #require(events.first { $0["event"] as? String == "run-finished" })
        #expect(finished["seconds"] is Double || finished["seconds"] is Int)
        #expect(finished["fetched_objects"] as? Int == 2)
        #expect(finished["generation"] as? Int == 1)
    }

    @Test("with --log-format json, a daemon that cannot start says so in one JSON line, secrets scrubbed")
    func daemonStartFailureIsJSON() throws {
        let sandbox = Sandbox()
        sandbox.write(".env", "DOTENV_SECRET=\(Self.dotEnvSecret)\n")
        sandbox.write("bot.yaml", "model_sync:\n  remote: ${DOTENV_SECRET}\n  daemon:\n    timezone: Mars/Olympus\n")
        let result = try CLI(in: sandbox.path).run(["daemon", "--role", "client", "--config", "bot.yaml",
                                                    "--log-format", "json"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["event"] as? String == "start-failed")
        #expect(object["exit_code"] as? Int == 2)
        #expect((object["error"] as? String)?.contains("model_sync.daemon.timezone") == true)
        Self.expectNoSecret(result.stderr, "daemon start failure")
    }
}
