import ArgumentParser
import ModelSyncKit

struct GCCommand: GlobalOptionsCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete objects that no retained generation, pinned or recent manifest references.",
        discussion: """
            Objects stay while a kept generation (active or retained), a pinned manifest (model-sync pin) \
            or a manifest imported within \
            gc.grace_sec (default 86400 s) references them. Holds the store lock while it deletes.

            With --registry (publisher side, needs --config): removes from the git registry's tree the blobs \
            that none of the last registry.keep_manifests (default 10) manifests references, and older \
            manifest files, as one ordinary commit pushed like a publish. The repository's history keeps \
            them: see docs/registry-layout.md to squash it. With oci.reference set, deletes instead the image \
            manifests (and their tags) of the sets beyond the newest registry.keep_manifests, never the \
            channel's; blob space comes back when the registry runs its own garbage collection.
            """)

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted, delete nothing.")
    var dryRun = false

    /// Ten years: a longer grace period would keep every manifest, which `pin` says more plainly.
    static let maxGraceSec: Double = 315_360_000

    @Option(name: .customLong("grace-sec"), help: ArgumentHelp(
        "Keep manifests imported less than this many seconds ago, 0 to \(Int(maxGraceSec)) (default: gc.grace_sec).",
        valueName: "seconds"))
    var graceSec: Double?

    @Flag(name: .customLong("registry"), help: "Collect the registry (git tree, or OCI manifests) instead of the local store.")
    var registry = false

    @Flag(name: .customLong("allow-dirty"), help: "With --registry: work even when repo_dir has local changes.")
    var allowDirty = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        // NaN fails the range test too: it compares false with both bounds.
        if let graceSec, !(0...GCCommand.maxGraceSec).contains(graceSec) {
            throw ValidationError("--grace-sec must be a number of seconds from 0 to \(Int(GCCommand.maxGraceSec)) "
                                  + "(ten years), not \(graceSec)")
        }
    }

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        if registry { return try collectRegistry(workspace, output: output) }
        let store = try workspace.openStore()
        let report = try store.collectGarbage(graceSeconds: graceSec ?? workspace.config.gc.graceSec, dryRun: dryRun)
        var lines = dryRun ? report.removed.map { "would remove \($0)" } : []
        lines.append((dryRun ? "would remove" : "removed") + " \(report.objectsRemoved) objects (\(Output.bytes(report.bytesFreed))), kept \(report.objectsKept)")
        if !report.tempFilesRemoved.isEmpty || !report.stagedRemoved.isEmpty {
            lines.append((dryRun ? "would remove" : "removed") + " \(report.tempFilesRemoved.count) temp files and "
                         + "\(report.stagedRemoved.count) staged downloads of pulls no longer running "
                         + "(\(Output.bytes(report.leftoverBytesFreed)))")
        }
        output.result(GCOutput(report, dryRun: dryRun), text: lines.joined(separator: "\n"))
    }

    private func collectRegistry(_ workspace: Workspace, output: Output) throws {
        let report = try RegistryCollector(workspace: workspace, allowDirty: allowDirty).collect(dryRun: dryRun)
        var lines = report.objectsRemoved.map { (dryRun ? "would remove " : "removed ") + $0.description }
        lines.append((dryRun ? "would remove" : "removed") + " \(report.objectsRemoved.count) objects "
            + "(\(Output.bytes(report.bytesFreed))) and \(report.manifestsRemoved.count) manifests from the registry, "
            + "kept \(report.objectsKept) objects of \(report.keptManifests.count) manifests"
            + (report.commit.map { " (commit \($0.hex))" } ?? ""))
        if workspace.config.oci.isEnabled {
            lines.append("the blobs stay in the registry's storage until its own garbage collection runs "
                         + "(distribution: `registry garbage-collect`)")
        }
        output.result(RegistryGCOutput(report, dryRun: dryRun), text: lines.joined(separator: "\n"))
    }
}

/// `gc --json` on the local store.
struct GCOutput: Encodable {
    let dryRun: Bool
    let objectsRemoved: Int
    let bytesFreed: UInt64
    let objectsKept: Int
    let removed: [Digest]
    /// Leftovers: temp files, folders of `<store>/incoming/` whose pull no longer runs, and their bytes.
    let tempFilesRemoved: Int
    let stagedRemoved: Int
    let leftoverBytesFreed: UInt64

    enum CodingKeys: String, CodingKey {
        case removed
        case dryRun = "dry_run"
        case objectsRemoved = "objects_removed"
        case bytesFreed = "bytes_freed"
        case objectsKept = "objects_kept"
        case tempFilesRemoved = "temp_files_removed"
        case stagedRemoved = "staged_removed"
        case leftoverBytesFreed = "leftover_bytes_freed"
    }

    init(_ report: GCReport, dryRun: Bool) {
        self.dryRun = dryRun
        objectsRemoved = report.objectsRemoved
        bytesFreed = report.bytesFreed
        objectsKept = report.objectsKept
        removed = report.removed
        tempFilesRemoved = report.tempFilesRemoved.count
        stagedRemoved = report.stagedRemoved.count
        leftoverBytesFreed = report.leftoverBytesFreed
    }
}

/// `gc --registry --json`: the local store's fields (counting registry blobs) and what the commit kept.
struct RegistryGCOutput: Encodable {
    let dryRun: Bool
    /// Always true: tells a script which of the two collections ran.
    let registry = true
    let objectsRemoved: Int
    let bytesFreed: UInt64
    let objectsKept: Int
    let manifestsRemoved: [Digest]
    let manifestsKept: [Digest]
    /// The commit's hex id, null for a dry run or when nothing was removed.
    @Nullable var commit: String?
    let removed: [Digest]

    enum CodingKeys: String, CodingKey {
        case registry, commit, removed
        case dryRun = "dry_run"
        case objectsRemoved = "objects_removed"
        case bytesFreed = "bytes_freed"
        case objectsKept = "objects_kept"
        case manifestsRemoved = "manifests_removed"
        case manifestsKept = "manifests_kept"
    }

    init(_ report: RegistryGCReport, dryRun: Bool) {
        self.dryRun = dryRun
        objectsRemoved = report.objectsRemoved.count
        bytesFreed = report.bytesFreed
        objectsKept = report.objectsKept
        manifestsRemoved = report.manifestsRemoved
        manifestsKept = report.keptManifests
        commit = report.commit?.hex
        removed = report.objectsRemoved
    }
}
