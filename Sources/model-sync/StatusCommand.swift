import ArgumentParser
import Foundation
import ModelSyncKit

struct StatusCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the active generation, its manifest, and the retained generations.",
        discussion: """
            With --remote, also fetches the registry (as pull does, changing nothing) and says whether this \
            machine is behind the channel and how much a pull would fetch.

            Example: model-sync status --config configs/bot.yaml --remote
            """)

    @Flag(help: "Also compare with the registry: behind or not, and what a pull would fetch.")
    var remote = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        // A set whose health check a killed process left unfinished must not stay active: settle it when the
        // lock is free at once (a reader that cannot write the store just reports).
        if workspace.hasPendingCheck { _ = try? workspace.openStore(lockTimeout: 0) }
        // A fresh folder has no store yet: that is a state to report (nothing active), not an error.
        let store = Store.exists(at: workspace.storeDir) ? try workspace.openStoreForReading() : nil
        let status = try store?.status(modelsDir: workspace.modelsDir)
            ?? .noStore(modelsDir: workspace.modelsDir, storeDir: workspace.storeDir)
        var lines = ["models_dir: \(status.modelsDir)", "store_dir:  \(status.storeDir)"]
        if let active = status.active {
            lines.append("active:     generation \(active.generation), \(active.manifest)")
            lines.append("            \(active.files) files, \(Output.bytes(active.bytes))"
                         + (active.activatedAt.map { ", activated \($0.rfc3339)" } ?? ""))
        } else {
            lines.append("active:     none")
        }
        if !status.generations.isEmpty {
            lines.append("generations:")
            for record in status.generations {
                lines.append("  \(record.number)\t\(record.state.rawValue)\t\(record.manifest)")
            }
        }
        lines.append("store:      \(status.objects) objects, \(Output.bytes(status.objectBytes)), \(status.manifests) manifests")
        // What the daemons last did, for the roles that have run here.
        var daemons: [String: StatusOutput.DaemonSummary] = [:]
        for role in DaemonRole.allCases {
            guard let state = try? store?.daemonState(role: role.rawValue), state.lastRun != nil else { continue }
            daemons[role.rawValue] = StatusOutput.DaemonSummary(state)
            lines.append("daemon:     \(role.rawValue) last ran \(state.lastRun.map(\.rfc3339) ?? "never"), "
                         + "last success \(state.lastSuccess.map(\.rfc3339) ?? "never")"
                         + (state.lastError.map { ", last error: \($0)" } ?? ""))
        }
        var result = StatusOutput(status, daemons: daemons)
        // The newest accepted release, when it is what is active: signed, by whom, until when.
        if let active = status.active, workspace.signaturePolicy != nil {
            // The registry's channel (an OCI registry's tag) first, then an archive's: whichever release named
            // the active set.
            let entries = try workspace.acceptedReleases.all()
            let channels = [workspace.config.oci.channel, RegistryLayout.latest, ArchiveLayout.channel]
            let entry = channels.lazy.compactMap { entries[$0] }
                .first { $0.manifest == active.manifest }
            if let entry {
                result.signature = StatusOutput.Signature(entry)
                lines.append("signed:     release \(entry.sequence) by \(entry.keyIDs.joined(separator: ", ")), expires \(entry.expires)")
            } else {
                lines.append("signed:     no accepted release names the active set (chosen with pull --manifest, or imported)")
            }
        }
        if remote {
            let plan = try Puller(workspace: workspace).plan()
            result.remote = PullPlanOutput(plan)
            lines.append("remote:     " + PullPlanOutput.text(plan))
        }
        output.result(result, text: lines.joined(separator: "\n"))
    }
}

/// `status --json`.
struct StatusOutput: Encodable {
    /// The active set, or null when none is.
    struct Active: Encodable {
        let generation: Int
        let manifest: Digest
        let files: Int
        let bytes: UInt64
        @Nullable var activatedAt: Date?

        enum CodingKeys: String, CodingKey {
            case generation, manifest, files, bytes
            case activatedAt = "activated_at"
        }
    }

    /// A kept generation: `state` is `active`, `retained` or `failed`.
    struct Generation: Encodable {
        let generation: Int
        let manifest: Digest
        let state: String
        @Nullable var activatedAt: Date?

        enum CodingKeys: String, CodingKey {
            case generation, manifest, state
            case activatedAt = "activated_at"
        }
    }

    /// What a role's daemon last did here.
    struct DaemonSummary: Encodable {
        @Nullable var lastRun: Date?
        @Nullable var lastSuccess: Date?
        @Nullable var lastResult: String?
        @Nullable var lastError: String?

        enum CodingKeys: String, CodingKey {
            case lastRun = "last_run"
            case lastSuccess = "last_success"
            case lastResult = "last_result"
            case lastError = "last_error"
        }

        init(_ state: DaemonState) {
            lastRun = state.lastRun
            lastSuccess = state.lastSuccess
            lastResult = state.lastResult
            lastError = state.lastError
        }
    }

    let modelsDir: String
    let storeDir: String
    @Nullable var active: Active?
    let generations: [Generation]
    let objects: Int
    let objectBytes: UInt64
    /// By role name, only the roles that have run against this store.
    let daemons: [String: DaemonSummary]
    /// With `--remote`: what a pull would do.
    var remote: PullPlanOutput?
    /// The signed release that named the active set, when signatures are required and one did.
    @Nullable var signature: Signature?

    /// `signature` in `status --json`.
    struct Signature: Encodable {
        let sequence: Int
        let issued: String
        let expires: String
        let keyIDs: [String]

        init(_ entry: AcceptedReleases.Entry) {
            sequence = entry.sequence
            issued = entry.issued
            expires = entry.expires
            keyIDs = entry.keyIDs
        }

        enum CodingKeys: String, CodingKey {
            case sequence, issued, expires
            case keyIDs = "key_ids"
        }
    }

    enum CodingKeys: String, CodingKey {
        case active, generations, objects, daemons, remote, signature
        case modelsDir = "models_dir"
        case storeDir = "store_dir"
        case objectBytes = "object_bytes"
    }

    init(_ status: StoreStatus, daemons: [String: DaemonSummary]) {
        modelsDir = status.modelsDir
        storeDir = status.storeDir
        active = status.active.map {
            Active(generation: $0.generation, manifest: $0.manifest, files: $0.files, bytes: $0.bytes,
                   activatedAt: $0.activatedAt)
        }
        generations = status.generations.map {
            Generation(generation: $0.number, manifest: $0.manifest, state: $0.state.rawValue, activatedAt: $0.activatedAt)
        }
        objects = status.objects
        objectBytes = status.objectBytes
        self.daemons = daemons
    }
}
