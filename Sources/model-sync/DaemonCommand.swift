#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ModelSyncKit
import Synchronization

/// Set by SIGTERM and SIGINT; the daemon checks it between steps.
let stopRequested = Atomic<Bool>(false)

struct DaemonCommand: ParsableCommand {
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
        let workspace = try global.workspace()
        let daemonRole = DaemonRole(rawValue: role.rawValue)!
        let daemon = try Daemon(role: daemonRole, config: workspace.config)
        DaemonCommand.installSignalHandlers()
        let format = logFormat
        let quiet = global.quiet
        let storeDir = workspace.storeDir
        let state = Daemon.StateAccess(
            load: { (try? Store.openForReading(at: storeDir).daemonState(role: daemonRole.rawValue)) ?? DaemonState() },
            save: { state in
                // The store lock is shared with one-shot commands: take it only to write.
                if let store = try? Store.open(at: storeDir, lockTimeout: workspace.config.lockTimeoutSec) {
                    try? store.saveDaemonState(state, role: daemonRole.rawValue)
                }
            })
        daemon.run(runNow: runNow, state: state, clock: { Date() },
                   sleep: DaemonCommand.interruptibleSleep, shouldStop: { stopRequested.load(ordering: .relaxed) },
                   events: { event in if !(quiet && event.level == .info) { DaemonCommand.log(event, format: format) } },
                   job: { try DaemonCommand.runJob(daemonRole, workspace: workspace) })
    }

    /// One run of the role's job, as the one-shot command would do it.
    static func runJob(_ role: DaemonRole, workspace: Workspace) throws -> DaemonRunOutcome {
        switch role {
        case .publisher:
            let store = try workspace.openStore()
            let result = try Publisher(workspace: workspace).publish(store: store)
            return DaemonRunOutcome(result: result.result.rawValue, manifest: result.manifest,
                                    fetchedObjects: result.newObjects, fetchedBytes: result.newBytes,
                                    files: result.files, bytes: result.bytes)
        case .client:
            let store = try workspace.openStore()
            return outcome(try Puller(workspace: workspace).pull(store: store), store: store)
        case .runpodClient:
            var puller = RunPodPuller(workspace: workspace)
            puller.sleep = { seconds in _ = interruptibleSleep(seconds) }
            puller.shouldStop = { stopRequested.load(ordering: .relaxed) }
            let result = try puller.pull()
            return outcome(result, store: try? workspace.openStoreForReading())
        }
    }

    private static func outcome(_ result: ActivationResult, store: Store?) -> DaemonRunOutcome {
        let manifest = try? store?.manifest(result.manifest)
        return DaemonRunOutcome(result: result.result.rawValue, generation: result.generation, manifest: result.manifest,
                                fetchedObjects: result.fetchedObjects, fetchedBytes: result.fetchedBytes,
                                files: manifest?.files.count, bytes: manifest?.totalBytes,
                                succeeded: result.result != .rolledBack && result.onActivateFailure == nil)
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

    static func log(_ event: DaemonEvent, format: LogFormat) {
        let line: String
        switch format {
        case .text:
            var text = "\(DaemonEvent.format(event.time)) \(event.level.rawValue) \(event.role.rawValue) \(event.event)"
            for (key, value) in event.fields {
                text += " \(key)=" + (value.contains(" ") || value.isEmpty ? "\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\"" : value)
            }
            line = text
        case .json:
            var fields: [String: Any?] = ["time": DaemonEvent.format(event.time), "level": event.level.rawValue,
                                          "role": event.role.rawValue, "event": event.event]
            for (key, value) in event.fields { fields[key] = Int(value).map { $0 as Any } ?? value }
            line = Output.encode(fields)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
