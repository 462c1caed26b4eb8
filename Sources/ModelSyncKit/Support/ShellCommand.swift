#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Runs a configured command (`train_command`, `health_check`, `on_activate`) with `/bin/sh -c`.
///
/// The child runs in its own process group with an empty signal mask (a parent's blocked signals would
/// otherwise be inherited and SIGTERM could not stop it); its stdout and stderr go to our stderr, so a
/// `--json` stdout stays clean, or are captured for ``CommandSettings/observer``. At `timeout` the group gets
/// SIGTERM, then SIGKILL 5 s later. Its environment follows ``CommandSettings``' rule for secrets.
///
/// ```swift
/// let outcome = try ShellCommand("python train.py", environment: ["EPOCHS": "3"], timeout: 3600).run()
/// ```
public struct ShellCommand: Sendable {
    /// The command line, given to `/bin/sh -c` as one argument (quotes and spaces are the shell's to read).
    public let command: String
    /// Variables added to (or replacing) the inherited environment.
    public let environment: [String: String]
    /// Seconds before the process group gets SIGTERM; nil waits for ever.
    public let timeout: Double?
    /// Seconds between SIGTERM and SIGKILL after a timeout.
    var terminationGrace: Double = 5
    /// Where the command's stdout and stderr are copied when no observer takes them: our stderr, so that a
    /// `--json` stdout stays clean.
    var outputDescriptor: Int32 = 2
    /// Which configured command this is (`activation.health_check`), for reports.
    public var name: String
    /// Secrets it may receive and where its output goes.
    public var settings: CommandSettings

    /// How much of each captured stream a report keeps (its end, where the error usually is).
    public static let capturedOutputLimit = 16 * 1024

    /// A command to run; nothing starts before ``run()``.
    public init(_ command: String, environment: [String: String] = [:], timeout: Double? = nil,
                name: String = "command", settings: CommandSettings = CommandSettings()) {
        self.command = command
        self.environment = environment
        self.timeout = timeout
        self.name = name
        self.settings = settings
    }

    /// How the command ended.
    public enum Outcome: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal (not ours) ended it.
        case signaled(Int32)
        /// It outlived its timeout and was stopped.
        case timedOut
    }

    /// Runs the command to its end (or its timeout). Its output goes through pipes either way: with an
    /// observer it is captured and reported, else copied to `outputDescriptor` as it comes; both scrubbed of
    /// secrets, since a command given a secret may print it.
    public func run() throws -> Outcome {
        let capture = try OutputCapture(forward: settings.observer == nil ? outputDescriptor : nil)
        let outcome = try waitForExit(of: spawn(capture: capture), capture: capture)
        capture.flush()
        guard let observer = settings.observer else { return outcome }
        let scrubber = SecretScrubber.shared
        observer(CommandReport(
            name: name, command: scrubber.scrub(command), outcome: outcome,
            stdout: scrubber.scrubbedSuffix(capture.text(of: .stdout), maxLength: Self.capturedOutputLimit),
            stderr: scrubber.scrubbedSuffix(capture.text(of: .stderr), maxLength: Self.capturedOutputLimit)))
        return outcome
    }

    /// The child's environment: `inherited` without the secrets the command does not name, plus those it
    /// names, plus `environment`.
    func childEnvironment(inherited: [String: String]) -> [String: String] {
        var result = inherited
        let referenced = Self.referencedVariables(in: command)
        for (name, value) in settings.secrets {
            result[name] = referenced.contains(name) ? value : nil
        }
        for (key, value) in environment { result[key] = value }
        return result
    }

    /// Starts `/bin/sh -c command` in its own process group, with an empty signal mask, default SIGTERM,
    /// SIGINT and SIGPIPE handlers, stdout and stderr on the capture's pipes, and the child environment.
    private func spawn(capture: OutputCapture) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, capture.writeEnd(.stdout), 1)
        posix_spawn_file_actions_adddup2(&actions, capture.writeEnd(.stderr), 2)

        let environmentStrings = childEnvironment(inherited: ProcessInfo.processInfo.environment)
            .map { "\($0.key)=\($0.value)" }
        let arguments = ["/bin/sh", "-c", command]
        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            withCStrings(environmentStrings) { envp in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
            }
        }
        capture.closeWriteEnds()
        guard status == 0 else { throw CommandStartError(name: name, errno: status) }
        return pid
    }

    /// Polls the child until it ends; past the timeout its whole group gets SIGTERM, then SIGKILL
    /// `terminationGrace` seconds later (a training script's own children included).
    private func waitForExit(of pid: pid_t, capture: OutputCapture) throws -> Outcome {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var killDeadline: Date?
        var timedOut = false
        while true {
            var waitStatus: Int32 = 0
            let result = waitpid(pid, &waitStatus, WNOHANG)
            if result == pid {
                // What the pipes hold now; a background child that keeps them open is not waited for.
                capture.drain(waitingUpTo: 0)
                if timedOut { return .timedOut }
                if (waitStatus & 0x7f) == 0 { return .exited((waitStatus >> 8) & 0xff) }
                return .signaled(waitStatus & 0x7f)
            }
            if result < 0 && errno != EINTR { throw IOError.current("waitpid", command) }
            let now = Date()
            if let deadline, !timedOut, now >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                killDeadline = now.addingTimeInterval(terminationGrace)
            }
            if let killDeadline, now >= killDeadline {
                kill(-pid, SIGKILL)
            }
            // Waits for output up to 20 ms: the poll interval of the child's exit too.
            capture.drain(waitingUpTo: 20)
        }
    }

    private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension ShellCommand.Outcome: CustomStringConvertible {
    /// How the command ended, as the end of a sentence (`exited with status 3`).
    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by signal \(signal)"
        case .timedOut: return "timed out"
        }
    }
}

/// A configured command could not even start (exit 8, like a command that failed): `/bin/sh` is missing, or
/// the command line and environment are too long for the system (`E2BIG`), which is the configuration's to fix.
public struct CommandStartError: ModelSyncError {
    /// Which configured command it was (`activation.health_check`).
    public let name: String
    /// The `errno` of `posix_spawn`.
    public let errno: Int32
    /// Exit code 8.
    public var category: ErrorCategory { .commandFailed }
    /// `cannot start <name> with /bin/sh: <reason>`.
    public var message: String { "cannot start \(name) with /bin/sh: \(String(cString: strerror(errno)))" }
    /// What to change.
    public var hint: String? {
        errno == E2BIG ? "shorten the command, or the environment it inherits" : "check that /bin/sh exists and can run"
    }
}

/// A configured command failed (exit 8): the training command, or `activation.on_activate`.
public struct CommandFailedError: ModelSyncError {
    /// Which configured command it was (`train_command`, `activation.on_activate`).
    public let what: String
    /// The command line as configured.
    public let command: String
    /// How it ended.
    public let outcome: ShellCommand.Outcome
    /// Exit code 8.
    public var category: ErrorCategory { .commandFailed }
    /// `<what> \`<command>\` <outcome>`, secrets scrubbed.
    public var message: String { SecretScrubber.shared.scrub("\(what) `\(command)` \(outcome)") }
    /// Where to look next.
    public var hint: String? { "its output is above; run it by hand to see why" }

    /// Makes the error.
    public init(what: String, command: String, outcome: ShellCommand.Outcome) {
        self.what = what
        self.command = command
        self.outcome = outcome
    }
}
