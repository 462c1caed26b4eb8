#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ModelSyncKit
import Synchronization

/// Set by SIGTERM and SIGINT; the daemon checks it between steps.
let stopRequested = Atomic<Bool>(false)
/// Set by SIGHUP; the daemon re-reads its configuration before its next wait.
let reloadRequested = Atomic<Bool>(false)

struct DaemonCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run a role's job (publish, pull or runpod-pull) every day at its schedule until SIGTERM.",
        discussion: """
            Roles and their schedules: publisher (publisher.schedule), client (client.schedule), \
            runpod_client (runpod_client.schedule), "HH:MM" in daemon.timezone or the local zone. A new \
            daemon waits for its first slot (--run-now runs at once); a slot missed while it was down runs \
            once at start. Failures are retried with exponential backoff until the next slot, except those \
            retrying cannot fix (a missing key, runpod.enabled: false, an unset repo_dir): the configuration \
            is checked at start (exit 2 at once), and such an error in a run stops the daemon with its exit \
            code. It logs one line per event on stderr, rewrites daemon.metrics_file (Prometheus text) \
            after each run, and serves the same metrics at GET /metrics on daemon.metrics_listen. SIGHUP re-reads the YAML file and .env between runs (an invalid new \
            configuration is logged and the old one kept). SIGTERM or SIGINT stops it between steps with \
            exit 0.

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
        let format = logFormat
        let quiet = global.quiet
        let daemonRole = role.daemonRole
        let global = self.global
        let (daemon, job) = try DaemonCommand.prepare(role: daemonRole, global: global, format: format)
        let workspace = try global.workspace()
        let endpoint = try workspace.config.daemon.metricsListen.map { try MetricsEndpoint(listeningOn: $0) }
        defer { endpoint?.stop() }
        DaemonCommand.installSignalHandlers()
        let shouldStop: @Sendable () -> Bool = { stopRequested.load(ordering: .relaxed) }
        let reload = DaemonReload(requested: { reloadRequested.exchange(false, ordering: .relaxed) },
                                  load: { try DaemonCommand.prepare(role: daemonRole, global: global, format: format) })
        let exit = daemon.run(runNow: runNow,
                              state: .store(at: workspace.storeDir, lockTimeout: workspace.config.lockTimeoutSec, role: daemonRole),
                              clock: { Date() }, sleep: DaemonCommand.interruptibleSleep, shouldStop: shouldStop,
                              events: { event in if !(quiet && event.level == .info) { DaemonCommand.log(event, format: format) } },
                              reload: reload, metrics: endpoint, job: job)
        if case .failed(let failure) = exit { throw ExitCode(failure.category.exitCode) }
    }

    /// Reads the configuration and `.env`, checks what the role needs, and builds the daemon and its job —
    /// at start and again on each SIGHUP.
    @Sendable static func prepare(role: DaemonRole, global: GlobalOptions, format: LogFormat) throws -> (Daemon, DaemonReload.Job) {
        var workspace = try global.workspace()
        let daemon = try Daemon(role: role, config: workspace.config)
        // A configured command's output becomes fields of one log line, so that every line stays one record.
        workspace.commands.observer = { report in
            DaemonCommand.log(DaemonEvent(commandReport: report, role: role), format: format)
        }
        let job = DaemonJob(role: role, workspace: workspace, sleep: DaemonCommand.interruptibleSleep,
                            shouldStop: { stopRequested.load(ordering: .relaxed) })
        try job.checkConfiguration()
        return (daemon, job.run)
    }

    /// Sleeps up to `seconds` in short steps; false when a stop was requested, true (early) when a reload was.
    @Sendable static func interruptibleSleep(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stopRequested.load(ordering: .relaxed) { return false }
            if reloadRequested.load(ordering: .relaxed) { return true }
            usleep(UInt32(min(0.2, max(0.001, deadline.timeIntervalSinceNow)) * 1_000_000))
        }
        return !stopRequested.load(ordering: .relaxed)
    }

    /// SIGTERM and SIGINT set `stopRequested`, SIGHUP `reloadRequested`. They are unblocked first: a process
    /// started by a parent that blocks them (Foundation's Process does) would otherwise never see them.
    static func installSignalHandlers() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        let stop: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM, stop)
        signal(SIGINT, stop)
        let reload: @convention(c) (Int32) -> Void = { _ in reloadRequested.store(true, ordering: .relaxed) }
        signal(SIGHUP, reload)
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
