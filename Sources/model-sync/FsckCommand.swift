import ArgumentParser
import ModelSyncKit

struct FsckCommand: GlobalOptionsCommand {
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
            // A writer: a health check a killed process left unfinished is settled first, as every writer does.
            if workspace.hasPendingCheck { _ = try workspace.openStore() }
            report = try Store.repair(at: workspace.storeDir, lockTimeout: workspace.config.lockTimeoutSec,
                                      modelsDir: workspace.modelsDir, progress: output.progressHandler())
        } else {
            report = try workspace.openStoreForReading().check(modelsDir: workspace.modelsDir, lockTimeout: workspace.config.lockTimeoutSec,
                                                               progress: output.progressHandler())
        }
        var lines = report.problems.map { "problem: \($0)" }
        lines += report.repaired.map { "repaired: \($0.action) \($0.digest?.description ?? $0.path ?? "")" }
        lines.append("\(report.objectsChecked) objects (\(Output.bytes(report.bytesChecked))) checked: "
                     + (report.ok ? "ok" : "\(report.remainingProblems.count) problem(s) left"))
        output.result(FsckOutput(report), text: lines.joined(separator: "\n"))
        if !report.ok { throw ExitCode(ErrorCategory.fsckProblems.exitCode) }
    }
}

/// `fsck --json`.
struct FsckOutput: Encodable {
    /// One repair: `digest` or `path` (whichever names what was repaired, the other key left out) and `action`.
    struct Repair: Encodable {
        let digest: Digest?
        let path: String?
        let action: String

        enum CodingKeys: String, CodingKey {
            case digest, path, action
        }
    }

    let ok: Bool
    let objectsChecked: Int
    let bytesChecked: UInt64
    let corrupt: [Digest]
    let missing: [Digest]
    let repaired: [Repair]
    /// The problems still there at the end.
    let problems: [String]

    enum CodingKeys: String, CodingKey {
        case ok, corrupt, missing, repaired, problems
        case objectsChecked = "objects_checked"
        case bytesChecked = "bytes_checked"
    }

    init(_ report: FsckReport) {
        ok = report.ok
        objectsChecked = report.objectsChecked
        bytesChecked = report.bytesChecked
        corrupt = report.corrupt
        missing = report.missing
        repaired = report.repaired.map { Repair(digest: $0.digest, path: $0.path, action: $0.action) }
        problems = report.remainingProblems
    }
}
