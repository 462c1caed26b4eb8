#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ModelSyncKit
import Synchronization

/// Set by SIGTERM and SIGINT; the daemon checks it between steps.
let stopRequested = Atomic<Bool>(false)

struct DaemonCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run a role's job (publish, pull or runpod-pull) every day at its schedule until SIGTERM.",
        discussion: """
            Roles and their schedules: publisher (publisher.schedule), client (client.schedule), \
            runpod_client (runpod_client.schedule), "HH:MM" in daemon.timezone or the local zone. It runs \
            at once when the last success is older than the latest scheduled time, retries failures with \
            exponential backoff until the next slot, logs one line per event on stderr, and rewrites \
            daemon.metrics_file (Prometheus text) after each run. SIGTERM or SIGINT stops it between steps \
            with exit 0.

            Example: model-sync daemon --role client --config configs/bot.yaml
            """)

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case publisher, client
        case runpodClient = "runpod_client"

        var daemonRole: DaemonRole {
            switch self {
            case .publisher: return .publisher
            case .client: return .client
            case .runpodClient: return .runpodClient
            }
        }
    }

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: ArgumentHelp("publisher, client or runpod_client.", valueName: "role"))
    var role: Role

    @Flag(name: .customLong("run-now"), help: "Run the job once at start, whatever the schedule says.")
    var runNow = false

    @Option(name: .customLong("log-format"), help: "text or json (one object per line).")
    var logFormat: LogFormat = .text

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if global.config == nil { throw ValidationError("daemon needs --config (the schedules live there)") }
    }

    func run() throws {
        do {
            try runDaemon()
        } catch let failure as any ModelSyncError where logFormat == .json {
            // A log shipper reads stderr as JSON lines: a failure to start is one more line, not plain text.
            DaemonCommand.log(DaemonEvent(time: Date(), level: .error, role: role.daemonRole, event: "start-failed", fields: [
                ("error", failure.message), ("hint", failure.hint ?? ""), ("exit_code", String(failure.category.exitCode)),
            ]), format: .json)
            throw ExitCode(failure.category.exitCode)
        }
    }

    private func runDaemon() throws {
        var workspace = try global.workspace()
        let daemon = try Daemon(role: role.daemonRole, config: workspace.config)
        DaemonCommand.installSignalHandlers()
        let format = logFormat
        let quiet = global.quiet
        let daemonRole = role.daemonRole
        // A configured command's output becomes fields of one log line, so that every line stays one record.
        workspace.commands.observer = { report in
            DaemonCommand.log(DaemonEvent(commandReport: report, role: daemonRole), format: format)
        }
        let shouldStop: @Sendable () -> Bool = { stopRequested.load(ordering: .relaxed) }
        let job = DaemonJob(role: role.daemonRole, workspace: workspace, sleep: DaemonCommand.interruptibleSleep,
                            shouldStop: shouldStop)
        daemon.run(runNow: runNow,
                   state: .store(at: workspace.storeDir, lockTimeout: workspace.config.lockTimeoutSec, role: role.daemonRole),
                   clock: { Date() }, sleep: DaemonCommand.interruptibleSleep, shouldStop: shouldStop,
                   events: { event in if !(quiet && event.level == .info) { DaemonCommand.log(event, format: format) } },
                   job: job.run)
    }

    /// Sleeps up to `seconds` in short steps; false when a stop was requested.
    @Sendable static func interruptibleSleep(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stopRequested.load(ordering: .relaxed) { return false }
            usleep(UInt32(min(0.2, max(0.001, deadline.timeIntervalSinceNow)) * 1_000_000))
        }
        return !stopRequested.load(ordering: .relaxed)
    }

    /// SIGTERM and SIGINT set `stopRequested`. They are unblocked first: a process started by a parent that
    /// blocks them (Foundation's Process does) would otherwise never see them.
    static func installSignalHandlers() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }

    /// Writes one log line for `event` on stderr, every field scrubbed of secrets.
    static func log(_ event: DaemonEvent, format: LogFormat) {
        let event = event.scrubbed()
        let line: String
        switch format {
        case .text:
            var text = "\(DaemonEvent.format(event.time)) \(event.level.rawValue) \(event.role.rawValue) \(event.event)"
            for (key, value) in event.fields {
                text += " \(key)=" + textValue(value)
            }
            line = text
        case .json:
            line = Output.encode(event)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A field value as one token of a text line: quoted when it holds a space or is empty, line breaks and
    /// quotes escaped so that a command's multi-line output stays on its line.
    static func textValue(_ value: String) -> String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        return value.contains(where: { $0 == " " || $0.isNewline || $0 == "\"" }) || value.isEmpty ? "\"\(escaped)\"" : escaped
    }
}
