#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

@Suite("ShellCommand: placeholders are shell-quoted, secrets reach only the commands that name them")
struct ShellCommandPlaceholderTests {
    static let hostileValues = [
        "/srv/a b'c;touch PWNED", #"/srv/"x"$(touch PWNED)`touch PWNED`"#, "/srv/$HOME;rm -rf PWNED &&", #"a\b\\"c"#,
        "tab\there", "new\nline", "'", "\"", "", "{models_dir}", "*", "~",
    ]

    /// The templates a user may write: the placeholder bare, in double quotes, in single quotes, glued to text.
    static let templates = [
        "printf '%s' {models_dir}", #"printf '%s' "{models_dir}""#, "printf '%s' '{models_dir}'",
        #"printf '%s' "x={models_dir}""#, "printf '%s' x={models_dir}", #"printf '%s' 'x='{models_dir}"#,
    ]

    /// Runs `command` with its output captured by an observer; returns the report.
    private func report(_ command: ShellCommand) throws -> CommandReport {
        let box = Mutex<CommandReport?>(nil)
        var command = command
        command.settings.observer = { report in box.withLock { $0 = report } }
        _ = try command.run()
        return try #require(box.withLock { $0 })
    }

    @Test("a hostile value reaches the command whole, in every quoting context, and runs nothing",
          arguments: templates)
    func hostileValues(template: String) throws {
        let directory = TemporaryDirectory()
        for value in Self.hostileValues {
            let (command, environment) = ShellCommand.filling(template, with: ["models_dir": value])
            let result = try report(ShellCommand("cd '\(directory.path)' && " + command, environment: environment))
            let prefix = template.contains("x=") ? "x=" : ""
            #expect(result.outcome == .exited(0), "\(template) with \(value): \(result.stderr)")
            #expect(result.stdout == prefix + value, "\(template) with \(value) gave \(command)")
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/PWNED"), "\(command)")
        }
    }

    @Test("inside $(…) or backticks, where the quoting scan can be wrong, a hostile value still runs nothing")
    func subshellsRunNothing() throws {
        let directory = TemporaryDirectory()
        let templates = [#"printf '%s' "$(printf '%s' {models_dir})""#, "printf '%s' `printf '%s' {models_dir}`",
                         #"printf '%s' "$(echo "{models_dir}")""#, "x=$(printf '%s' '{models_dir}'); printf '%s' \"$x\""]
        for template in templates {
            for value in Self.hostileValues {
                let (command, environment) = ShellCommand.filling(template, with: ["models_dir": value])
                _ = try report(ShellCommand("cd '\(directory.path)' && " + command, environment: environment))
                #expect(!FileManager.default.fileExists(atPath: directory.path + "/PWNED"), "\(command) with \(value)")
            }
        }
    }

    @Test("only known placeholders are filled, as quoted variable references; braces of the shell stay")
    func unknownPlaceholders() {
        let filled = ShellCommand.filling(#"echo {other} ${HOME} {generation} "{manifest}" '{generation}'"#,
                                          with: ["generation": "3", "manifest": "sha256:x"])
        #expect(filled.command == #"echo {other} ${HOME} "${MODEL_SYNC_GENERATION}" "${MODEL_SYNC_MANIFEST}" ''"${MODEL_SYNC_GENERATION}"''"#)
        #expect(filled.environment == ["MODEL_SYNC_GENERATION": "3", "MODEL_SYNC_MANIFEST": "sha256:x"])
        #expect(ShellCommand.filling(#"echo \{generation}"#, with: ["generation": "3"]).command == #"echo \{generation}"#)
    }

    @Test("variables named as $NAME or ${NAME…} are found")
    func referencedVariables() {
        #expect(ShellCommand.referencedVariables(in: #"curl -H "k: $API_KEY" ${URL:-x} $1 $$ ${T}x"#)
                == ["API_KEY", "URL", "T"])
    }

    @Test("a secret reaches a child only when its command names it, even one the process itself holds")
    func secretsOnlyWhenNamed() throws {
        setenv("MODEL_SYNC_TEST_PROCESS_SECRET", "from-process", 1)
        defer { unsetenv("MODEL_SYNC_TEST_PROCESS_SECRET") }
        let settings = CommandSettings(secrets: ["DOTENV_SECRET": "dotenv-value",
                                                 "MODEL_SYNC_TEST_PROCESS_SECRET": "from-process"])
        // printenv NAME does not name the variable the way the shell would: the child must not have it.
        let silent = try report(ShellCommand(
            #"printf '%s|%s|%s' "$(printenv DOTENV_SECRET)" "$(printenv MODEL_SYNC_TEST_PROCESS_SECRET)" "${PATH:+path}""#,
            settings: settings))
        #expect(silent.stdout == "||path")
        let named = try report(ShellCommand(#"printf '%s' "$DOTENV_SECRET""#, settings: settings))
        #expect(named.stdout == "dotenv-value")
    }

    @Test("an observer gets stdout and stderr apart, the end of each, scrubbed of secrets")
    func capturedOutput() throws {
        SecretScrubber.register(["capture-secret-value"])
        let result = try report(ShellCommand(
            "echo out; echo err >&2; echo capture-secret-value; head -c 100000 /dev/zero | tr '\\0' x; exit 3",
            name: "activation.health_check"))
        #expect(result.outcome == .exited(3))
        #expect(result.name == "activation.health_check")
        #expect(result.stderr == "err\n")
        #expect(result.stdout.count == ShellCommand.capturedOutputLimit)
        #expect(result.stdout.allSatisfy { $0 == "x" })
        let short = try report(ShellCommand("echo capture-secret-value"))
        #expect(short.stdout == "[redacted]\n")
    }

    @Test("without an observer the output is copied to our stderr as it comes, scrubbed, long lines included")
    func forwardedOutput() throws {
        SecretScrubber.register(["forward-secret-value"])
        let directory = TemporaryDirectory()
        let descriptor = open(directory.path + "/out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(descriptor) }
        var command = ShellCommand(
            "printf 'a forward-secret-value\\n'; printf 'progress\\r' >&2; "
                + "head -c 70000 /dev/zero | tr '\\0' x; printf 'forward-secret-value end'")
        command.outputDescriptor = descriptor
        #expect(try command.run() == .exited(0))
        let text = String(decoding: directory.read("out"), as: UTF8.self)
        #expect(text.contains("a [redacted]\n"))
        #expect(text.contains("progress\r"))
        // stdout and stderr are two pipes: where stderr's line lands among stdout's bytes depends on scheduling.
        let stdoutOnly = text.replacingOccurrences(of: "progress\r", with: "")
        #expect(stdoutOnly.hasSuffix("x[redacted] end"))
        #expect(!text.contains("forward-secret"))
        #expect(text.count == "a [redacted]\n".count + "progress\r".count + 70000 + "[redacted] end".count)
    }

    @Test("forwarded output scrubs a secret split across writes or lines, and keeps a character split across reads")
    func forwardedSplits() throws {
        SecretScrubber.register(["split-secret-value", "pem-line-one\npem-line-two"])
        let directory = TemporaryDirectory()
        let descriptor = open(directory.path + "/out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(descriptor) }
        var command = ShellCommand(
            "printf 'a split-sec'; sleep 0.2; printf 'ret-value b\\n'; printf 'pem-line-one\\n'; sleep 0.2; "
                + "printf 'pem-line-two c \\303'; sleep 0.2; printf '\\251 d split-s'")
        command.outputDescriptor = descriptor
        #expect(try command.run() == .exited(0))
        let text = String(decoding: directory.read("out"), as: UTF8.self)
        #expect(text == "a [redacted] b\n[redacted] c é d split-s")
    }

    @Test("a command the system refuses to start is exit 8 with a hint, not a bug; the config refuses it first")
    func refusedStart() throws {
        let huge = "echo " + String(repeating: "x", count: 200_000)
        let error = #expect(throws: CommandStartError.self) { try ShellCommand(huge, name: "activation.on_activate").run() }
        #expect(error?.category.exitCode == 8)
        #expect(error?.message == "cannot start activation.on_activate with /bin/sh: Argument list too long")
        #expect(error?.hint == "shorten the command, or the environment it inherits")
        let config = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  activation:\n    on_activate: \(huge)\n", file: "bot.yaml", environment: [:])
        }
        #expect(config?.message == "bot.yaml:3: model_sync.activation.on_activate: expected a shell command of at most 65536 bytes, got 200005")
    }

    @Test("a background child that keeps the output open does not hold the command")
    func backgroundChildDoesNotHang() throws {
        let started = Date()
        let result = try report(ShellCommand("sleep 5 & echo done"))
        #expect(result.stdout == "done\n")
        #expect(Date().timeIntervalSince(started) < 3)
    }
}

@Suite("SecretScrubber: secrets out of every message, before any truncation")
struct SecretScrubberTests {
    @Test("every secret is replaced, the longest first; short values, booleans and short numbers are not secrets")
    func scrubs() {
        let scrubber = SecretScrubber(secrets: ["tok3n-abc", "tok3n-abc-longer", "abc", "true", "8080", "12345678"])
        #expect(scrubber.scrub("a tok3n-abc-longer and tok3n-abc") == "a [redacted] and [redacted]")
        #expect(scrubber.scrub("abc true 8080 12345678") == "abc true 8080 [redacted]")
    }

    @Test("a secret is also scrubbed in its JSON spelling, in text already encoded")
    func scrubsJSONSpelling() throws {
        let secret = "pa\"ss\\wo\nrd"
        let scrubber = SecretScrubber(secrets: [secret])
        let encoded = String(decoding: try JSONEncoder().encode(["k": "x \(secret) y"]), as: UTF8.self)
        #expect(scrubber.scrub(encoded) == #"{"k":"x [redacted] y"}"#)
    }

    @Test("a secret cut in half by a truncation is still scrubbed")
    func scrubsBeforeTruncating() {
        let scrubber = SecretScrubber(secrets: ["0123456789abcdef"])
        let text = String(repeating: "-", count: 190) + "0123456789abcdef" + "tail"
        let cut = scrubber.scrubbedPrefix(text, maxLength: 200)
        #expect(!cut.contains("01234"))
        #expect(cut.hasSuffix("[redacted]"))
        #expect(!scrubber.scrubbedSuffix("0123456789abcdef" + "tail", maxLength: 12).contains("abcdef"))
    }

    @Test("a daemon event keeps its figures as numbers and scrubs its text")
    func daemonEventScrubbed() {
        let scrubber = SecretScrubber(secrets: ["20480000", "tok3n-value"])
        let event = DaemonEvent(time: Date(), level: .info, role: .client, event: "run-finished",
                                fields: [("fetched_bytes", "20480000"), ("error", "bad tok3n-value 20480000")])
        let scrubbed = event.scrubbed(with: scrubber)
        #expect(scrubbed.fields.map(\.1) == ["20480000", "bad [redacted] [redacted]"])
    }
}
