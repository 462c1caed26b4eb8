#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

@Suite("ShellCommand: exit status, environment, output, timeouts")
struct ShellCommandTests {
    /// Runs `command` with its output captured in a file; returns the outcome and the output.
    private func capture(_ command: ShellCommand, in directory: TemporaryDirectory) throws -> (ShellCommand.Outcome, String) {
        let path = directory.path + "/output"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var command = command
        command.outputDescriptor = descriptor
        let outcome = try command.run()
        return (outcome, String(decoding: directory.read("output"), as: UTF8.self))
    }

    /// True once `pid` no longer runs (gone, or a zombie nobody reaped yet); waits up to 5 s.
    private func ended(_ pid: pid_t) -> Bool {
        for _ in 0..<250 {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if let close = stat.lastIndex(of: ")"), stat[close...].dropFirst(2).first == "Z" { return true }
            usleep(20_000)
        }
        return false
    }

    @Test("the exit status is returned as is, zero or not")
    func exitStatus() throws {
        #expect(try ShellCommand("true").run() == .exited(0))
        #expect(try ShellCommand("exit 3").run() == .exited(3))
        #expect(try ShellCommand("exit 255").run() == .exited(255))
        #expect(ShellCommand.Outcome.exited(3).description == "exited with status 3")
    }

    @Test("a command killed by a signal reports that signal")
    func signaled() throws {
        #expect(try ShellCommand("kill -KILL $$").run() == .signaled(SIGKILL))
        #expect(ShellCommand.Outcome.signaled(9).description == "was killed by signal 9")
    }

    @Test("the given environment is added to the inherited one, values passed byte for byte")
    func environment() throws {
        let directory = TemporaryDirectory()
        let command = ShellCommand(#"printf '%s|%s' "$MODEL_SYNC_TEST_VALUE" "${PATH:+inherited}""#,
                                   environment: ["MODEL_SYNC_TEST_VALUE": "a b 'c' \"d\" $HOME"])
        let (outcome, output) = try capture(command, in: directory)
        #expect(outcome == .exited(0))
        #expect(output == "a b 'c' \"d\" $HOME|inherited")
    }

    @Test("the command line is read by the shell: quoted arguments with spaces and quotes stay whole")
    func quoting() throws {
        let directory = TemporaryDirectory()
        let (outcome, output) = try capture(ShellCommand(#"printf '[%s]' 'a b' "it's" "say \"hi\"""#), in: directory)
        #expect(outcome == .exited(0))
        #expect(output == #"[a b][it's][say "hi"]"#)
    }

    @Test("stdout and stderr both go to the output descriptor, stdout never to ours")
    func output() throws {
        let directory = TemporaryDirectory()
        let (outcome, output) = try capture(ShellCommand("echo to-stdout; echo to-stderr >&2"), in: directory)
        #expect(outcome == .exited(0))
        #expect(output == "to-stdout\nto-stderr\n")
    }

    @Test("at the timeout the whole process group gets SIGTERM: the command's own children end too")
    func timeoutTerminatesGroup() throws {
        let directory = TemporaryDirectory()
        let pidFile = directory.path + "/child.pid"
        let started = Date()
        let outcome = try ShellCommand("sleep 30 & echo $! > '\(pidFile)'; wait", timeout: 0.5).run()
        #expect(outcome == .timedOut)
        #expect(Date().timeIntervalSince(started) < 5)
        let child = try #require(pid_t(String(decoding: directory.read("child.pid"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(ended(child))
    }

    @Test("a command that survives SIGTERM gets SIGKILL once the grace period has passed")
    func timeoutKills() throws {
        let directory = TemporaryDirectory()
        let log = directory.path + "/log"
        var command = ShellCommand("trap 'echo term >> \(log)' TERM; while :; do sleep 0.05; done", timeout: 0.3)
        command.terminationGrace = 0.7
        let started = Date()
        #expect(try command.run() == .timedOut)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.95)
        #expect(elapsed < 5)
        #expect(directory.read("log") == Array("term\n".utf8))
    }

    @Test("a command that ends before its timeout reports its own exit status at once")
    func finishesBeforeTimeout() throws {
        let started = Date()
        #expect(try ShellCommand("sleep 0.1; exit 4", timeout: 30).run() == .exited(4))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("a failed command's error names what ran, the command and how it ended")
    func failureMessage() {
        let error = CommandFailedError(what: "train_command", command: "python train.py", outcome: .timedOut)
        #expect(error.message == "train_command `python train.py` timed out")
        #expect(error.category == .commandFailed)
    }
}
