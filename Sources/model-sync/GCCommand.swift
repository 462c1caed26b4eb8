import ArgumentParser
import ModelSyncKit

struct GCCommand: ParsableCommand {
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
            them: see docs/registry-layout.md to squash it.
            """)

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted, delete nothing.")
    var dryRun = false

    @Option(name: .customLong("grace-sec"), help: "Keep manifests imported less than this many seconds ago (default: gc.grace_sec).")
    var graceSec: Double?

    @Flag(name: .customLong("registry"), help: "Collect the git registry's tree instead of the local store.")
    var registry = false

    @Flag(name: .customLong("allow-dirty"), help: "With --registry: work even when repo_dir has local changes.")
    var allowDirty = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let graceSec, graceSec < 0 { throw ValidationError("--grace-sec must be zero or more") }
    }

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        if registry { return try collectRegistry(workspace, output: output) }
        let store = try workspace.openStore()
        let report = try store.collectGarbage(graceSeconds: graceSec ?? workspace.config.gc.graceSec, dryRun: dryRun)
        var lines = dryRun ? report.removed.map { "would remove \($0)" } : []
        lines.append((dryRun ? "would remove" : "removed") + " \(report.objectsRemoved) objects (\(Output.bytes(report.bytesFreed))), kept \(report.objectsKept)")
        output.result([
            "dry_run": dryRun, "objects_removed": report.objectsRemoved, "bytes_freed": report.bytesFreed,
            "objects_kept": report.objectsKept, "removed": report.removed.map(\.description),
        ], text: lines.joined(separator: "\n"))
    }

    private func collectRegistry(_ workspace: Workspace, output: Output) throws {
        let report = try RegistryCollector(workspace: workspace, allowDirty: allowDirty).collect(dryRun: dryRun)
        var lines = report.objectsRemoved.map { (dryRun ? "would remove " : "removed ") + $0.description }
        lines.append((dryRun ? "would remove" : "removed") + " \(report.objectsRemoved.count) objects "
            + "(\(Output.bytes(report.bytesFreed))) and \(report.manifestsRemoved.count) manifests from the registry, "
            + "kept \(report.objectsKept) objects of \(report.keptManifests.count) manifests"
            + (report.commit.map { " (commit \($0.hex))" } ?? ""))
        output.result([
            "dry_run": dryRun, "registry": true, "objects_removed": report.objectsRemoved.count,
            "bytes_freed": report.bytesFreed, "objects_kept": report.objectsKept,
            "manifests_removed": report.manifestsRemoved.map(\.description),
            "manifests_kept": report.keptManifests.map(\.description), "commit": report.commit?.hex,
            "removed": report.objectsRemoved.map(\.description),
        ], text: lines.joined(separator: "\n"))
    }
}
