import Testing
@testable import ModelSyncKit

@Suite("Config validation: one clear message per mistake, with file, line and key")
struct ConfigValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let yaml: String
        let message: String
        var testDescription: String { message }
    }

    /// Each snippet goes under `model_sync:` (line 1), so its first line is line 2.
    static let cases: [Case] = [
        Case(yaml: "  runpod:\n    poll_interval_sec: ten\n",
             message: #"bot.yaml:3: model_sync.runpod.poll_interval_sec: expected a positive number ≤ 3600, got "ten""#),
        Case(yaml: "  runpod:\n    request_timeout_sec: 0\n",
             message: #"bot.yaml:3: model_sync.runpod.request_timeout_sec: expected a positive number ≤ 3600, got "0""#),
        Case(yaml: "  runpod:\n    job_timeout_sec: -5\n",
             message: #"bot.yaml:3: model_sync.runpod.job_timeout_sec: expected a positive number ≤ 604800, got "-5""#),
        Case(yaml: "  runpod:\n    download_timeout_sec: .inf\n",
             message: #"bot.yaml:3: model_sync.runpod.download_timeout_sec: expected a positive number ≤ 86400, got ".inf""#),
        Case(yaml: "  activation:\n    health_timeout_sec: [1]\n",
             message: "bot.yaml:3: model_sync.activation.health_timeout_sec: expected a positive number ≤ 86400, got a sequence"),
        Case(yaml: "  publisher:\n    train_timeout_sec: 0\n",
             message: #"bot.yaml:3: model_sync.publisher.train_timeout_sec: expected a positive number ≤ 604800, got "0""#),
        Case(yaml: "  lock_timeout_sec: -1\n",
             message: #"bot.yaml:2: model_sync.lock_timeout_sec: expected a number ≥ 0 and ≤ 86400, got "-1""#),
        Case(yaml: "  gc:\n    grace_sec: soon\n",
             message: #"bot.yaml:3: model_sync.gc.grace_sec: expected a number ≥ 0 and ≤ 315360000, got "soon""#),
        Case(yaml: "  keep_generations: 0\n",
             message: #"bot.yaml:2: model_sync.keep_generations: expected an integer ≥ 1 and ≤ 1000, got "0""#),
        Case(yaml: "  keep_generations: 2.5\n",
             message: #"bot.yaml:2: model_sync.keep_generations: expected an integer ≥ 1 and ≤ 1000, got "2.5""#),
        Case(yaml: "  registry:\n    keep_manifests: none\n",
             message: #"bot.yaml:3: model_sync.registry.keep_manifests: expected an integer ≥ 1 and ≤ 100000, got "none""#),
        Case(yaml: "  runpod:\n    max_archive_bytes: 0\n",
             message: #"bot.yaml:3: model_sync.runpod.max_archive_bytes: expected an integer ≥ 1 and ≤ 1125899906842624, got "0""#),
        Case(yaml: "  runpod:\n    max_extract_bytes: 20GiB\n",
             message: #"bot.yaml:3: model_sync.runpod.max_extract_bytes: expected an integer ≥ 1 and ≤ 1125899906842624, got "20GiB""#),
        Case(yaml: "  allow_dirty: yes\n",
             message: #"bot.yaml:2: model_sync.allow_dirty: expected true or false, got "yes""#),
        Case(yaml: "  runpod:\n    enabled: 1\n",
             message: #"bot.yaml:3: model_sync.runpod.enabled: expected true or false, got "1""#),
        Case(yaml: "  publisher:\n    schedule: \"24:00\"\n",
             message: #"bot.yaml:3: model_sync.publisher.schedule: expected a time of day "HH:MM" (00:00 to 23:59), got "24:00""#),
        Case(yaml: "  client:\n    schedule: \"06:60\"\n",
             message: #"bot.yaml:3: model_sync.client.schedule: expected a time of day "HH:MM" (00:00 to 23:59), got "06:60""#),
        Case(yaml: "  runpod_client:\n    schedule: 3am\n",
             message: #"bot.yaml:3: model_sync.runpod_client.schedule: expected a time of day "HH:MM" (00:00 to 23:59), got "3am""#),
        Case(yaml: "  runpod:\n    trigger_url: ftp://example.com/run\n",
             message: #"bot.yaml:3: model_sync.runpod.trigger_url: expected an http or https URL with a host, got "ftp://example.com/run""#),
        Case(yaml: "  runpod:\n    trigger_url: https:///run\n",
             message: #"bot.yaml:3: model_sync.runpod.trigger_url: expected an http or https URL with a host, got "https:///run""#),
        Case(yaml: "  runpod:\n    status_url_template: https://api.runpod.ai/v2/x/status\n",
             message: #"bot.yaml:3: model_sync.runpod.status_url_template: expected a URL containing {job_id}, got "https://api.runpod.ai/v2/x/status""#),
        Case(yaml: "  runpod:\n    cancel_url_template: https://api.runpod.ai/v2/x/cancel\n",
             message: #"bot.yaml:3: model_sync.runpod.cancel_url_template: expected a URL containing {job_id}, got "https://api.runpod.ai/v2/x/cancel""#),
        Case(yaml: "  runpod:\n    enabled: true\n    status_url_template: https://h/status/{job_id}\n",
             message: "bot.yaml:3: model_sync.runpod.trigger_url: required when runpod.enabled is true"),
        Case(yaml: "  runpod:\n    enabled: true\n    trigger_url: https://h/run\n",
             message: "bot.yaml:3: model_sync.runpod.status_url_template: required when runpod.enabled is true"),
        Case(yaml: "  link_mode: symlink\n",
             message: #"bot.yaml:2: model_sync.link_mode: expected one of auto, hardlink, reflink, copy, got "symlink""#),
        Case(yaml: "  runpod:\n    trigger_method: PATCH\n",
             message: #"bot.yaml:3: model_sync.runpod.trigger_method: expected one of GET, POST, PUT, got "PATCH""#),
        Case(yaml: "  runpod:\n    headers: [a, b]\n",
             message: "bot.yaml:3: model_sync.runpod.headers: expected a mapping of names to strings, got a sequence"),
        Case(yaml: "  runpod:\n    headers:\n      X-A: {b: c}\n",
             message: "bot.yaml:4: model_sync.runpod.headers.X-A: expected a string, got a mapping"),
        Case(yaml: "  runpod:\n    trigger_payload: [1]\n",
             message: "bot.yaml:3: model_sync.runpod.trigger_payload: expected a mapping, got a sequence"),
        Case(yaml: "  runpod:\n    api_key_env: 1KEY\n",
             message: #"bot.yaml:3: model_sync.runpod.api_key_env: expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got "1KEY""#),
        Case(yaml: "  git:\n    token_env: MY-TOKEN\n",
             message: #"bot.yaml:3: model_sync.git.token_env: expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got "MY-TOKEN""#),
        Case(yaml: "  runpod:\n    extract_subdir: ../outside\n",
             message: #"bot.yaml:3: model_sync.runpod.extract_subdir: expected a relative path without "..", got "../outside""#),
        Case(yaml: "  repo_models_subdir: /models\n",
             message: #"bot.yaml:2: model_sync.repo_models_subdir: expected a relative path without "..", got "/models""#),
        Case(yaml: "  remote: \"\"\n",
             message: #"bot.yaml:2: model_sync.remote: expected a non-empty string, got """#),
        Case(yaml: "  branch: [main]\n",
             message: "bot.yaml:2: model_sync.branch: expected a string, got a sequence"),
        Case(yaml: "  publisher: nightly\n",
             message: #"bot.yaml:2: model_sync.publisher: expected a mapping, got "nightly""#),
        Case(yaml: "  daemon:\n    timezone: Mars/Olympus\n",
             message: #"bot.yaml:3: model_sync.daemon.timezone: unknown time zone "Mars/Olympus""#),
        Case(yaml: "  daemon:\n    jitter_sec: -1\n",
             message: #"bot.yaml:3: model_sync.daemon.jitter_sec: expected a number ≥ 0 and ≤ 86400, got "-1""#),
        Case(yaml: "  daemon:\n    retry_initial_sec: 600\n    retry_max_sec: 60\n",
             message: "bot.yaml:4: model_sync.daemon.retry_max_sec: retry_max_sec (60) is less than retry_initial_sec (600)"),
        Case(yaml: "  remote: a\n  remote: b\n",
             message: "bot.yaml:3: model_sync.remote: given twice (first on line 2)"),
        Case(yaml: "  runpod:\n    trigger_ur: https://h/run\n",
             message: "bot.yaml:3: unknown key model_sync.runpod.trigger_ur"),
    ]

    @Test("each invalid value is reported with its own message", arguments: cases)
    func invalidValue(_ example: Case) throws {
        let error = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n" + example.yaml, file: "bot.yaml", environment: [:])
        }
        #expect(error.message == example.message)
        #expect(error.category == .usage)
        #expect(error.file == "bot.yaml")
    }

    @Test("an unknown key names the closest known key when it is close")
    func unknownKeySuggestion() throws {
        let text = """
            bot:
              name: x
            model_sync:
              remote: origin
              runpod:
                enabled: false
                trigger_ur: https://api.runpod.ai/v2/x/run
            """
        let error = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: text, file: "configs/bot.yaml", environment: [:])
        }
        #expect(error.message == "configs/bot.yaml:7: unknown key model_sync.runpod.trigger_ur")
        #expect(error.hint == #"did you mean "trigger_url"?"#)
        #expect(error.code == .unknownKey)
        #expect(error.key == "model_sync.runpod.trigger_ur")
        #expect(error.line == 7)

        let schedule = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  publisher:\n    schedul: \"01:00\"\n", file: "b.yaml", environment: [:])
        }
        #expect(schedule.hint == #"did you mean "schedule"?"#)
        let topLevel = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  keep_generation: 2\n", file: "b.yaml", environment: [:])
        }
        #expect(topLevel.hint == #"did you mean "keep_generations"?"#)
    }

    @Test("an unknown key far from every known key lists the known keys instead")
    func unknownKeyWithoutSuggestion() throws {
        let error = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  gc:\n    frobnicate: 1\n", file: "b.yaml", environment: [:])
        }
        #expect(error.message == "b.yaml:3: unknown key model_sync.gc.frobnicate")
        #expect(error.hint == "known keys here: grace_sec")
    }

    @Test("train_before_push: true without train_command loads (checked only by a publish)")
    func trainBeforePushAloneLoads() throws {
        let config = try Config.parse(
            yaml: "model_sync:\n  publisher:\n    train_before_push: true\n", file: "b.yaml", environment: [:])
        #expect(config.publisher.trainBeforePush)
        #expect(config.publisher.trainCommand == nil)
    }

    @Test("accepted forms: quoted numbers, lowercase method, one-digit hours, URLs with ports and placeholders")
    func acceptedForms() throws {
        let config = try Config.parse(yaml: """
            model_sync:
              keep_generations: "4"
              allow_dirty: False
              publisher: {schedule: "7:05"}
              runpod:
                trigger_method: get
                trigger_url: http://127.0.0.1:8080/v2/<ENDPOINT_ID>/run
                status_url_template: "https://user@api.example.com/status/{job_id}?x=1"
                poll_interval_sec: 0.25
            """, file: "b.yaml", environment: [:])
        #expect(config.keepGenerations == 4)
        #expect(config.allowDirty == false)
        #expect(config.publisher.schedule == "07:05")
        #expect(config.runpod.triggerMethod == "GET")
        #expect(config.runpod.pollIntervalSec == 0.25)
        #expect(config.runpod.effectiveCancelURLTemplate == "http://127.0.0.1:8080/v2/<ENDPOINT_ID>/cancel/{job_id}")
    }
}
