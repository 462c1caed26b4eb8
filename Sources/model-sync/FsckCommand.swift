import ArgumentParser
import ModelSyncKit

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Re-hash every object and check the index and the generations against their manifests.",
        discussion: """
            Exits 0 when the store is healthy and 7 when problems are left. With --repair: corrupt objects \
            move to <store>/quarantine/, half-written temp files and stale index rows go, a missing or \
            unreadable index is rebuilt from the objects, and generation files are re-made from the store. \
            A manifest that still lacks an object keeps the exit code at 7 until the next pull fetches it.
            """)

    @Flag(help: "Fix what can be fixed from the store alone (takes the store lock).")
    var repair = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let report: FsckReport
        if repair {
            report = try Store.repair(at: workspace.storeDir, lockTimeout: workspace.config.lockTimeoutSec,
                                      modelsDir: workspace.modelsDir, progress: output.progressHandler())
        } else {
            report = try workspace.openStoreForReading().check(modelsDir: workspace.modelsDir, progress: output.progressHandler())
        }
        let repaired: [[String: Any?]] = report.repaired.map { repair in
            var entry: [String: Any?] = ["action": repair.action]
            if let digest = repair.digest { entry["digest"] = digest }
            if let path = repair.path { entry["path"] = path }
            return entry
        }
        var lines = report.problems.map { "problem: \($0)" }
        lines += report.repaired.map { "repaired: \($0.action) \($0.digest?.description ?? $0.path ?? "")" }
        lines.append("\(report.objectsChecked) objects (\(Output.bytes(report.bytesChecked))) checked: "
                     + (report.ok ? "ok" : "\(report.remainingProblems.count) problem(s) left"))
        output.result([
            "ok": report.ok, "objects_checked": report.objectsChecked, "bytes_checked": report.bytesChecked,
            "corrupt": report.corrupt.map(\.description), "missing": report.missing.map(\.description),
            "repaired": repaired, "problems": report.remainingProblems,
        ], text: lines.joined(separator: "\n"))
        if !report.ok { throw CommandExit(code: ErrorCategory.fsckProblems.exitCode) }
    }
}
