import Testing
@testable import ModelSyncKit

@Suite("Config: ${VAR} expansion from the environment")
struct ConfigEnvironmentTests {
    static func parse(_ body: String, _ environment: [String: String]) throws -> Config {
        try Config.parse(yaml: "model_sync:\n" + body, file: "bot.yaml", environment: environment)
    }

    @Test("${VAR} and ${VAR:-default} are replaced in strings, numbers and the payload")
    func expansion() throws {
        let config = try Self.parse("""
          repo_dir: ${HOME_DIR}/registry
          branch: ${BRANCH:-main}
          remote: "${REMOTE:-origin}"
          keep_generations: ${KEEP:-4}
          runpod:
            trigger_url: https://api.runpod.ai/v2/${ENDPOINT}/run
            status_url_template: https://api.runpod.ai/v2/${ENDPOINT}/status/{job_id}
            poll_interval_sec: ${POLL}
            headers:
              Authorization: Bearer ${TOKEN}
            trigger_payload:
              input:
                prompt: "${PROMPT:-train}"
                n: ${N}
        """, ["HOME_DIR": "/srv", "ENDPOINT": "abc", "POLL": "5", "TOKEN": "t0k", "N": "3", "REMOTE": ""])
        #expect(config.repoDir == "/srv/registry")
        #expect(config.branch == "main")
        #expect(config.remote == "origin", "an empty variable takes the :- default")
        #expect(config.keepGenerations == 4)
        #expect(config.runpod.triggerURL == "https://api.runpod.ai/v2/abc/run")
        #expect(config.runpod.statusURLTemplate == "https://api.runpod.ai/v2/abc/status/{job_id}")
        #expect(config.runpod.pollIntervalSec == 5)
        #expect(config.runpod.headers == ["Authorization": "Bearer t0k"])
        #expect(config.runpod.triggerPayload == .object(["input": .object(["prompt": .string("train"), "n": .int(3)])]))
    }

    @Test("$$ is a literal dollar and a lone $ stays")
    func dollarEscapes() throws {
        let config = try Self.parse("  git:\n    author_name: echo $$HOME costs 5$ ${X}$$\n", ["X": "x"])
        #expect(config.git.authorName == "echo $HOME costs 5$ x$")
    }

    @Test("shell commands are kept as written: the shell expands their variables, so no value lands in argv")
    func shellCommandsKeptRaw() throws {
        let yaml = "  activation:\n    health_check: 'curl -H \"Authorization: ${TOKEN}\" ${URL:-http://x} $$'\n"
            + "    on_activate: echo ${TOKEN}\n  publisher:\n    train_command: train --key=${TOKEN}\n"
        let config = try Self.parse(yaml, ["TOKEN": "t0k-secret"])
        #expect(config.activation.healthCheck == #"curl -H "Authorization: ${TOKEN}" ${URL:-http://x} $$"#)
        #expect(config.activation.onActivate == "echo ${TOKEN}")
        #expect(config.publisher.trainCommand == "train --key=${TOKEN}")
        #expect(config.secretVariables == ["TOKEN", "URL"])
        // An unset variable without a default is still caught when the file is read.
        let error = #expect(throws: ConfigError.self) {
            try Self.parse("  activation:\n    on_activate: echo ${MISSING}\n", [:])
        }
        #expect(error?.code == .undefinedVariable)
    }

    @Test("variables expanded in path keys are not secrets; everywhere else they are")
    func secretVariables() throws {
        let yaml = "  models_dir: ${MODELS}\n  repo_dir: ${REPO}\n  remote: ${REMOTE}\n  runpod:\n"
            + "    headers: {X-Key: \"${KEY}\"}\n"
        let config = try Self.parse(yaml, ["MODELS": "/m", "REPO": "/r", "REMOTE": "o", "KEY": "k"])
        #expect(config.secretVariables == ["REMOTE", "KEY"])
    }

    @Test("an undefined variable without default names the variable, the key and the line")
    func undefinedVariable() throws {
        let error = try #require(throws: ConfigError.self) {
            try Self.parse("  remote: origin\n  repo_dir: ${REGISTRY_DIR}/x\n", [:])
        }
        #expect(error.message == "bot.yaml:3: model_sync.repo_dir: variable REGISTRY_DIR is not set")
        #expect(error.code == .undefinedVariable)
        #expect(error.hint == "set REGISTRY_DIR in the environment or the .env file, or give a default: ${REGISTRY_DIR:-value}")

        let nested = try #require(throws: ConfigError.self) {
            try Self.parse("  runpod:\n    trigger_payload:\n      input:\n        key: ${MISSING}\n", [:])
        }
        #expect(nested.message == "bot.yaml:5: model_sync.runpod.trigger_payload.input.key: variable MISSING is not set")
    }

    @Test("malformed references are refused")
    func malformedReferences() throws {
        let unterminated = try #require(throws: ConfigError.self) { try Self.parse("  branch: ${OOPS\n", [:]) }
        #expect(unterminated.message == "bot.yaml:2: model_sync.branch: unterminated ${ (missing })")
        let badName = try #require(throws: ConfigError.self) { try Self.parse("  branch: ${A B}\n", [:]) }
        #expect(badName.message
            == "bot.yaml:2: model_sync.branch: invalid variable reference ${A B}: expected ${NAME} or ${NAME:-default}")
    }

    @Test("a type error on an expanded value shows the text as written, never the variable's value")
    func noValueInMessages() throws {
        let error = try #require(throws: ConfigError.self) {
            try Self.parse("  runpod:\n    poll_interval_sec: ${SECRET}\n", ["SECRET": "hunter2"])
        }
        #expect(error.message == #"bot.yaml:3: model_sync.runpod.poll_interval_sec: expected a positive number ≤ 3600, got "${SECRET}""#)
        #expect(!error.message.contains("hunter2"))
    }
}
