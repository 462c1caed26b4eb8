import Foundation

/// One run of a role's job, done as the one-shot command does it (`publish`, `pull` or `runpod-pull`), and the
/// rule that says whether the run counts as a success.
///
/// ```swift
/// let job = DaemonJob(role: .client, workspace: workspace, sleep: interruptibleSleep, shouldStop: { stopping })
/// daemon.run(runNow: false, state: access, clock: { Date() }, sleep: interruptibleSleep,
///            shouldStop: { stopping }, events: log, job: job.run)
/// ```
public struct DaemonJob: Sendable {
    /// Which job: publish, pull or runpod-pull.
    public let role: DaemonRole
    /// The configuration, folders and environment the job runs with.
    public let workspace: Workspace
    /// Waits between RunPod polls; false when a stop was requested (the daemon's own sleep).
    public var sleep: @Sendable (Double) -> Bool
    /// Checked between RunPod polls, so a stop request cancels the remote job instead of waiting an hour for it.
    public var shouldStop: @Sendable () -> Bool

    /// A job for `role` in `workspace`.
    public init(role: DaemonRole, workspace: Workspace, sleep: @escaping @Sendable (Double) -> Bool,
                shouldStop: @escaping @Sendable () -> Bool) {
        self.role = role
        self.workspace = workspace
        self.sleep = sleep
        self.shouldStop = shouldStop
    }

    /// Checks what the configuration alone tells about the job — the keys and secrets it needs — without
    /// touching the network, the registry or the store. A daemon calls it at start (exit 2 at once) and on
    /// reload (a bad new configuration is refused and the old one kept).
    public func checkConfiguration() throws {
        let config = workspace.config
        switch role {
        case .publisher:
            try checkRegistryConfiguration()
            if config.publisher.trainBeforePush { _ = try config.requireTrainCommand() }
        case .client:
            try checkRegistryConfiguration()
        case .runpodClient:
            _ = try RunPodPuller(workspace: workspace).configuredClient()
        }
    }

    /// The OCI section when `oci.reference` selects that transport, else the git registry's keys.
    private func checkRegistryConfiguration() throws {
        if workspace.config.oci.isEnabled {
            try workspace.checkOCIConfiguration()
        } else {
            _ = try GitRegistry.checkConfiguration(workspace.config, environment: workspace.environment)
        }
    }

    /// Runs the job once; throws what the one-shot command would (the daemon logs it and retries). Each
    /// RunPod job it triggers is reported to `context`.
    public func run(_ context: DaemonRunContext) throws -> DaemonRunOutcome {
        switch role {
        case .publisher:
            return DaemonJob.outcome(of: try Publisher(workspace: workspace).publish())
        case .client:
            let result = try Puller(workspace: workspace).pull()
            let store = try? workspace.openStoreForReading()
            return DaemonJob.outcome(of: result, manifest: try? store?.manifest(result.manifest))
        case .runpodClient:
            var puller = RunPodPuller(workspace: workspace)
            let sleep = self.sleep
            puller.sleep = { seconds in _ = sleep(seconds) }
            puller.shouldStop = shouldStop
            puller.jobSubmitted = { id in context.runPodJobSubmitted(id) }
            let result = try puller.pull()
            let store = try? workspace.openStoreForReading()
            return DaemonJob.outcome(of: result, manifest: try? store?.manifest(result.manifest))
        }
    }

    /// A publish that returns is a success, whether it pushed a commit or found the registry up to date.
    public static func outcome(of publish: Publisher.Result) -> DaemonRunOutcome {
        DaemonRunOutcome(result: publish.result.rawValue, manifest: publish.manifest, fetchedObjects: publish.newObjects,
                         fetchedBytes: publish.newBytes, files: publish.files, bytes: publish.bytes)
    }

    /// A pull that returns is a success unless the new set was rolled back after its health check failed or
    /// `activation.on_activate` failed: either way the command would have exited non-zero (6 or 8), so the
    /// daemon retries. `manifest` (the set asked for, when the store has it) gives the files and bytes.
    public static func outcome(of activation: ActivationResult, manifest: Manifest?) -> DaemonRunOutcome {
        DaemonRunOutcome(result: activation.result.rawValue, generation: activation.generation,
                         manifest: activation.manifest, fetchedObjects: activation.fetchedObjects,
                         fetchedBytes: activation.fetchedBytes, files: manifest?.files.count, bytes: manifest?.totalBytes,
                         succeeded: activation.result != .rolledBack && activation.onActivateFailure == nil)
    }
}
