import ArgumentParser
import ModelSyncKit

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the active generation, its manifest, and the retained generations.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let output = global.output()
        let workspace = try global.workspace()
        let store = try workspace.openStoreForReading()
        let status = try store.status(modelsDir: workspace.modelsDir)
        let active: [String: Any?]? = status.active.map {
            ["generation": $0.generation, "manifest": $0.manifest, "files": $0.files, "bytes": $0.bytes,
             "activated_at": $0.activatedAt]
        }
        let generations: [[String: Any?]] = status.generations.map {
            ["generation": $0.number, "manifest": $0.manifest, "state": $0.state.rawValue, "activated_at": $0.activatedAt]
        }
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
        var daemons: [String: Any?] = [:]
        for role in DaemonRole.allCases {
            guard let state = try? store.daemonState(role: role.rawValue), state.lastRun != nil else { continue }
            daemons[role.rawValue] = ["last_run": state.lastRun, "last_success": state.lastSuccess,
                                      "last_result": state.lastResult, "last_error": state.lastError] as [String: Any?]
            lines.append("daemon:     \(role.rawValue) last ran \(state.lastRun.map(\.rfc3339) ?? "never"), "
                         + "last success \(state.lastSuccess.map(\.rfc3339) ?? "never")"
                         + (state.lastError.map { ", last error: \($0)" } ?? ""))
        }
        output.result([
            "models_dir": status.modelsDir, "store_dir": status.storeDir, "active": active,
            "generations": generations, "objects": status.objects, "object_bytes": status.objectBytes,
            "daemons": daemons,
        ], text: lines.joined(separator: "\n"))
    }
}
