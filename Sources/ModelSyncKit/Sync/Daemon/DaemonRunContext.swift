import Foundation

/// What a job can tell the daemon while it runs: events for the log (a RunPod job triggered, with its id) and
/// the figures they carry into the metrics.
public final class DaemonRunContext: Sendable {
    private let role: DaemonRole
    private let clock: @Sendable () -> Date
    private let events: @Sendable (DaemonEvent) -> Void
    private let submitted = Locked<Int>(0)

    init(role: DaemonRole, clock: @escaping @Sendable () -> Date, events: @escaping @Sendable (DaemonEvent) -> Void) {
        self.role = role
        self.clock = clock
        self.events = events
    }

    /// A context that logs nowhere, for running a job outside a daemon.
    public static func detached(role: DaemonRole) -> DaemonRunContext {
        DaemonRunContext(role: role, clock: { Date() }, events: { _ in })
    }

    /// A RunPod job was triggered: one `runpod-job-submitted` log line, counted in the metrics.
    public func runPodJobSubmitted(_ id: String) {
        submitted.withLock { $0 += 1 }
        events(DaemonEvent(time: clock(), level: .info, role: role, event: "runpod-job-submitted", fields: [("job_id", id)]))
    }

    /// RunPod jobs triggered during this run.
    var runPodJobsSubmitted: Int { submitted.withLock { $0 } }
}
