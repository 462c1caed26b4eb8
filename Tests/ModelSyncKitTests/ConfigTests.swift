import Foundation
import Testing
@testable import ModelSyncKit

@Suite("Config: defaults, every key, the example file")
struct ConfigTests {
    static func parse(_ body: String, environment: [String: String] = [:]) throws -> Config {
        try Config.parse(yaml: "model_sync:\n" + body, file: "bot.yaml", environment: environment)
    }

    @Test("Config() and an empty model_sync: section give every default")
    func defaults() throws {
        let empty = try Config.parse(yaml: "model_sync:\n", file: "bot.yaml", environment: [:])
        var expected = Config()
        expected.sourcePath = "bot.yaml"
        #expect(empty == expected)

        let config = Config()
        #expect(config.sourcePath == nil)
        #expect(config.modelsDir == nil)
        #expect(config.storeDir == nil)
        #expect(config.repoDir == nil)
        #expect(config.repoURL == nil)
        #expect(config.remote == "origin")
        #expect(config.branch == "main")
        #expect(config.repoModelsSubdir == "models")
        #expect(config.keepGenerations == 3)
        #expect(config.linkMode == .auto)
        #expect(config.lockTimeoutSec == 60)
        #expect(config.allowDirty == false)
        #expect(config.publisher.schedule == "00:00")
        #expect(config.publisher.trainBeforePush == false)
        #expect(config.publisher.trainCommand == nil)
        #expect(config.publisher.trainTimeoutSec == nil)
        #expect(config.client.schedule == "06:00")
        #expect(config.runpodClient.schedule == "03:00")
        #expect(config.runpod.enabled == false)
        #expect(config.runpod.triggerURL == nil)
        #expect(config.runpod.statusURLTemplate == nil)
        #expect(config.runpod.apiKeyEnv == "RUNPOD_API_KEY")
        #expect(config.runpod.triggerMethod == "POST")
        #expect(config.runpod.triggerPayload == .object([:]))
        #expect(config.runpod.headers == [:])
        #expect(config.runpod.requestTimeoutSec == 20)
        #expect(config.runpod.pollIntervalSec == 10)
        #expect(config.runpod.jobTimeoutSec == 3600)
        #expect(config.runpod.downloadTimeoutSec == 300)
        #expect(config.runpod.extractSubdir == "models")
        #expect(config.runpod.cancelURLTemplate == nil)
        #expect(config.runpod.effectiveCancelURLTemplate == nil)
        #expect(config.runpod.archiveField == "archive_url")
        #expect(config.runpod.caBundle == nil)
        #expect(config.runpod.maxArchiveBytes == 21_474_836_480)
        #expect(config.runpod.maxExtractBytes == 21_474_836_480)
        #expect(config.registry.keepManifests == 10)
        #expect(config.gc.graceSec == 86400)
        #expect(config.activation.healthCheck == nil)
        #expect(config.activation.healthTimeoutSec == 120)
        #expect(config.activation.onActivate == nil)
        #expect(config.git == GitConfig())
        #expect(config.git.tokenEnv == nil && config.git.sshKey == nil)
        #expect(config.git.authorName == nil && config.git.authorEmail == nil)
        #expect(config.daemon.timezone == nil)
        #expect(config.daemon.jitterSec == 0)
        #expect(config.daemon.retryInitialSec == 60)
        #expect(config.daemon.retryMaxSec == 3600)
        #expect(config.daemon.metricsFile == nil)
    }

    @Test("every key is read into its field")
    func everyKey() throws {
        let config = try Self.parse("""
          models_dir: /srv/bot/models
          store_dir: /srv/bot/.store
          repo_dir: /srv/registry
          repo_url: git@github.com:acme/models.git
          remote: upstream
          branch: release
          repo_models_subdir: artifacts/models
          keep_generations: 5
          link_mode: reflink
          lock_timeout_sec: 0
          allow_dirty: true
          publisher:
            schedule: "23:59"
            train_before_push: true
            train_command: python -m scripts.train --all
            train_timeout_sec: 7200
          client:
            schedule: "6:30"
          runpod_client:
            schedule: "03:15"
          runpod:
            enabled: true
            trigger_url: https://api.runpod.ai/v2/abc123/runsync
            status_url_template: https://api.runpod.ai/v2/abc123/status/{job_id}
            api_key_env: MY_RUNPOD_KEY
            trigger_method: put
            trigger_payload:
              input:
                prompt: train
                epochs: 3
                rate: 0.5
                dry: false
                tags: [a, "1", 2]
                note: ~
            headers:
              X-Team: ml
              X-Count: 5
            request_timeout_sec: 30.5
            poll_interval_sec: 2
            job_timeout_sec: 600
            download_timeout_sec: 120
            extract_subdir: out/models
            cancel_url_template: https://api.runpod.ai/v2/abc123/cancel/{job_id}
            archive_field: url
            ca_bundle: /etc/ssl/corp.pem
            max_archive_bytes: 1048576
            max_extract_bytes: 2097152
          registry:
            keep_manifests: 4
          gc:
            grace_sec: 3600
          activation:
            health_check: ./check.sh
            health_timeout_sec: 30
            on_activate: kill -HUP 1
          git:
            token_env: GITHUB_TOKEN
            ssh_key: ~/.ssh/id_ed25519
            author_name: Model Bot
            author_email: bot@example.com
          daemon:
            timezone: Europe/Paris
            jitter_sec: 300
            retry_initial_sec: 30
            retry_max_sec: 900
            metrics_file: /var/lib/node_exporter/model_sync.prom
        """)
        #expect(config.modelsDir == "/srv/bot/models")
        #expect(config.storeDir == "/srv/bot/.store")
        #expect(config.repoDir == "/srv/registry")
        #expect(config.repoURL == "git@github.com:acme/models.git")
        #expect(config.remote == "upstream")
        #expect(config.branch == "release")
        #expect(config.repoModelsSubdir == "artifacts/models")
        #expect(config.keepGenerations == 5)
        #expect(config.linkMode == .reflink)
        #expect(config.lockTimeoutSec == 0)
        #expect(config.allowDirty == true)
        #expect(config.publisher.schedule == "23:59")
        #expect(config.publisher.trainBeforePush == true)
        #expect(config.publisher.trainCommand == "python -m scripts.train --all")
        #expect(config.publisher.trainTimeoutSec == 7200)
        #expect(config.client.schedule == "06:30")
        #expect(config.client.scheduleTime == DailyTime(parsing: "06:30"))
        #expect(config.client.scheduleTime.hour == 6 && config.client.scheduleTime.minute == 30)
        #expect(config.runpodClient.schedule == "03:15")
        #expect(config.runpod.enabled == true)
        #expect(config.runpod.triggerURL == "https://api.runpod.ai/v2/abc123/runsync")
        #expect(config.runpod.statusURLTemplate == "https://api.runpod.ai/v2/abc123/status/{job_id}")
        #expect(config.runpod.apiKeyEnv == "MY_RUNPOD_KEY")
        #expect(config.runpod.triggerMethod == "PUT")
        #expect(config.runpod.triggerPayload == .object(["input": .object([
            "prompt": .string("train"), "epochs": .int(3), "rate": .number(0.5), "dry": .bool(false),
            "tags": .array([.string("a"), .string("1"), .int(2)]), "note": .null,
        ])]))
        #expect(config.runpod.headers == ["X-Team": "ml", "X-Count": "5"])
        #expect(config.runpod.requestTimeoutSec == 30.5)
        #expect(config.runpod.pollIntervalSec == 2)
        #expect(config.runpod.jobTimeoutSec == 600)
        #expect(config.runpod.downloadTimeoutSec == 120)
        #expect(config.runpod.extractSubdir == "out/models")
        #expect(config.runpod.cancelURLTemplate == "https://api.runpod.ai/v2/abc123/cancel/{job_id}")
        #expect(config.runpod.archiveField == "url")
        #expect(config.runpod.caBundle == "/etc/ssl/corp.pem")
        #expect(config.runpod.maxArchiveBytes == 1_048_576)
        #expect(config.runpod.maxExtractBytes == 2_097_152)
        #expect(config.registry.keepManifests == 4)
        #expect(config.gc.graceSec == 3600)
        #expect(config.activation.healthCheck == "./check.sh")
        #expect(config.activation.healthTimeoutSec == 30)
        #expect(config.activation.onActivate == "kill -HUP 1")
        #expect(config.git.tokenEnv == "GITHUB_TOKEN")
        #expect(config.git.sshKey == "~/.ssh/id_ed25519")
        #expect(config.git.authorName == "Model Bot")
        #expect(config.git.authorEmail == "bot@example.com")
        #expect(config.daemon.timezone == "Europe/Paris")
        #expect(config.daemon.jitterSec == 300)
        #expect(config.daemon.retryInitialSec == 30)
        #expect(config.daemon.retryMaxSec == 900)
        #expect(config.daemon.metricsFile == "/var/lib/node_exporter/model_sync.prom")
    }

    @Test("null values and empty sections keep the defaults")
    func nullsKeepDefaults() throws {
        let config = try Self.parse("""
          remote: ~
          branch: null
          keep_generations:
          publisher:
          runpod: {}
        """)
        var expected = Config()
        expected.sourcePath = "bot.yaml"
        #expect(config == expected)
    }

    @Test("the cancel URL is derived from trigger_url's /run or /runsync")
    func cancelURLDerivation() {
        var runpod = RunPodConfig()
        runpod.triggerURL = "https://api.runpod.ai/v2/abc/run"
        #expect(runpod.effectiveCancelURLTemplate == "https://api.runpod.ai/v2/abc/cancel/{job_id}")
        runpod.triggerURL = "https://api.runpod.ai/v2/abc/runsync/"
        #expect(runpod.effectiveCancelURLTemplate == "https://api.runpod.ai/v2/abc/cancel/{job_id}")
        runpod.triggerURL = "https://example.com/start"
        #expect(runpod.effectiveCancelURLTemplate == nil)
        runpod.cancelURLTemplate = "https://example.com/stop/{job_id}"
        #expect(runpod.effectiveCancelURLTemplate == "https://example.com/stop/{job_id}")
    }

    @Test("requireTrainCommand returns the command, or names the key when it is missing")
    func requireTrainCommand() throws {
        var config = try Self.parse("  publisher:\n    train_before_push: true\n")
        let error = try #require(throws: ConfigError.self) { try config.requireTrainCommand() }
        #expect(error.message == "bot.yaml: model_sync.publisher.train_command: required when train_before_push is true")
        #expect(error.category == .usage)
        config.publisher.trainCommand = "make train"
        #expect(try config.requireTrainCommand() == "make train")
    }

    @Test("other top-level sections are ignored, even with undefined variables or odd keys")
    func otherSectionsIgnored() throws {
        let config = try Config.parse(yaml: """
            bot:
              token: ${UNDEFINED_TOKEN}
              anything: [1, 2]
            model_sync:
              branch: dev
            exchange: {name: x}
            """, file: "bot.yaml", environment: [:])
        #expect(config.branch == "dev")
    }

    @Test("a file without a model_sync: section is an error naming the file")
    func missingSection() throws {
        for text in ["bot: {a: 1}\n", "", "- a\n- b\n", "just text\n"] {
            let error = try #require(throws: ConfigError.self) {
                try Config.parse(yaml: text, file: "configs/other.yaml", environment: [:])
            }
            #expect(error.message == "configs/other.yaml: no model_sync: section")
            #expect(error.code == .missingSection)
        }
    }

    @Test("a missing configuration file is an error naming it")
    func missingFile() throws {
        let error = try #require(throws: ConfigError.self) {
            try Config.load(path: "no/such/bot.yaml", environment: [:])
        }
        #expect(error.message == "no/such/bot.yaml: cannot read the configuration file: No such file or directory")
        #expect(error.category == .usage)
    }

    @Test("Config.load reads a file from disk")
    func loadFromDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bot.yaml").path
        try "model_sync:\n  keep_generations: 7\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try Config.load(path: path, environment: [:])
        #expect(config.keepGenerations == 7)
        #expect(config.sourcePath == path)
    }

    @Test("configs/bot.yaml, the old script's example, loads cleanly")
    func exampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("configs/bot.yaml").path
        let config = try Config.load(path: path, environment: [:])
        #expect(config.repoDir == "/abs/path/to/model-registry-repo")
        #expect(config.remote == "origin")
        #expect(config.branch == "main")
        #expect(config.repoModelsSubdir == "models")
        #expect(config.publisher.schedule == "00:00")
        #expect(config.publisher.trainBeforePush == true)
        #expect(config.publisher.trainCommand == nil)
        #expect(config.client.schedule == "06:00")
        #expect(config.runpodClient.schedule == "03:00")
        #expect(config.runpod.enabled == true)
        #expect(config.runpod.triggerURL == "https://api.runpod.ai/v2/<ENDPOINT_ID>/run")
        #expect(config.runpod.statusURLTemplate == "https://api.runpod.ai/v2/<ENDPOINT_ID>/status/{job_id}")
        #expect(config.runpod.effectiveCancelURLTemplate == "https://api.runpod.ai/v2/<ENDPOINT_ID>/cancel/{job_id}")
        #expect(config.runpod.apiKeyEnv == "RUNPOD_API_KEY")
        #expect(config.runpod.triggerMethod == "POST")
        #expect(config.runpod.triggerPayload["input"]?["prompt"] == .string(
            "Train BN-ML models only (no trading bot execution) and return a downloadable models archive"))
        #expect(config.runpod.headers.isEmpty)
        #expect(config.runpod.requestTimeoutSec == 20)
        #expect(config.runpod.pollIntervalSec == 10)
        #expect(config.runpod.jobTimeoutSec == 3600)
        #expect(config.runpod.downloadTimeoutSec == 300)
        #expect(config.runpod.extractSubdir == "models")
    }

    @Test("configs/all-keys.yaml, the reference of every key, loads with its documented values")
    func allKeysExampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("configs/all-keys.yaml").path
        let config = try Config.load(path: path, environment: ["RUNPOD_ENDPOINT_ID": "ep1"])
        #expect(config.repoDir == "/srv/model-registry")
        #expect(config.runpod.triggerURL == "https://api.runpod.ai/v2/ep1/run")
        #expect(config.runpod.effectiveCancelURLTemplate == "https://api.runpod.ai/v2/ep1/cancel/{job_id}")
        #expect(try config.requireTrainCommand() == "python3 -m scripts.train --all")
        #expect(config.runpod.maxArchiveBytes == RunPodConfig().maxArchiveBytes)
        var daemon = DaemonConfig()
        daemon.metricsListen = ListenAddress(parsing: "0.0.0.0:9464")
        #expect(config.daemon == daemon)
        #expect(config.runpod.retryMinSec == 900 && config.runpod.maxJobsPerDay == 4)
        #expect(config.gc == GCConfig() && config.registry == RegistryConfig())
        #expect(config.git.lfs == .auto && config.git.lfsConcurrency == 8 && config.git.lfsURL == nil)
    }
}
