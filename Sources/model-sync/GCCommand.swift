import ArgumentParser
import ModelSyncKit

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete objects that no retained generation, pinned or recent manifest references.",
        discussion: """
            Objects stay while a kept generation (active or retained) or a manifest imported within \
            gc.grace_sec (default 86400 s) references them. Holds the store lock while it deletes.
            """)

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted, delete nothing.")
    var dryRun = false

    @Option(name: .customLong("grace-sec"), help: "Keep manifests imported less than this many seconds ago (default: gc.grace_sec).")
    var graceSec: Double?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let graceSec, graceSec < 0 { throw ValidationError("--grace-sec must be zero or more") }
    }

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStore()
        let report = try store.collectGarbage(graceSeconds: graceSec ?? workspace.config.gc.graceSec, dryRun: dryRun)
        var lines = dryRun ? report.removed.map { "would remove \($0)" } : []
        lines.append((dryRun ? "would remove" : "removed") + " \(report.objectsRemoved) objects (\(Output.bytes(report.bytesFreed))), kept \(report.objectsKept)")
        output.result([
            "dry_run": dryRun, "objects_removed": report.objectsRemoved, "bytes_freed": report.bytesFreed,
            "objects_kept": report.objectsKept, "removed": report.removed.map(\.description),
        ], text: lines.joined(separator: "\n"))
    }
}
