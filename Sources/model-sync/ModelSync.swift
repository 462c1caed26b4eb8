import ArgumentParser
import Foundation
import ModelSyncKit

@main
struct ModelSync: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "model-sync",
        abstract: "Distribute ML model sets as verified, content-addressed snapshots with atomic activation and rollback.",
        discussion: """
            model-sync hashes model files into a local store, moves only the blobs the other side lacks \
            (through a git registry or a RunPod job archive), verifies every byte, and swaps the active \
            models folder atomically, keeping earlier sets for rollback.

            Exit codes: 0 success, 1 bug, 2 usage or configuration, 3 integrity, 4 remote, 5 store busy, \
            6 health check failed (previous set restored), 7 fsck problems left, 8 configured command failed.
            """,
        version: version,
        subcommands: [
            PublishCommand.self, PullCommand.self, RunPodPullCommand.self, DaemonCommand.self,
            ImportCommand.self, ActivateCommand.self, RollbackCommand.self, StatusCommand.self, LogCommand.self,
            DiffCommand.self, FsckCommand.self, GCCommand.self, PinCommand.self, PackCommand.self,
        ]
    )

    /// Parses and runs, mapping every error to the exit codes of docs/cli.md.
    static func main() {
        let code: Int32
        do {
            var command = try parseAsRoot()
            try command.run()
            code = 0
        } catch let exit as CommandExit {
            code = exit.code
        } catch let error as any ModelSyncError {
            report(error)
            code = error.category.exitCode
            // With --json, scripts get the failure as the one JSON object on stdout too.
            if CommandLine.arguments.contains("--json") {
                print(Output.encode(["error": ["message": error.message, "hint": error.hint,
                                               "category": error.category.name, "exit_code": Int(code)] as [String: Any?]]))
            }
        } catch {
            let exitCode = ModelSync.exitCode(for: error).rawValue
            if exitCode == ExitCode.success.rawValue {
                print(ModelSync.fullMessage(for: error))
                code = 0
            } else if exitCode == ExitCode.validationFailure.rawValue {
                FileHandle.standardError.write(Data((ModelSync.fullMessage(for: error) + "\n").utf8))
                code = ErrorCategory.usage.exitCode
            } else {
                FileHandle.standardError.write(Data((ModelSync.fullMessage(for: error) + "\n").utf8))
                code = exitCode == 0 ? 0 : ErrorCategory.unexpected.exitCode
            }
        }
        Foundation.exit(code)
    }

    static func report(_ error: any ModelSyncError) {
        var text = "error: \(error.message)\n"
        if let hint = error.hint { text += "hint: \(hint)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Ends a command with a given exit code after it has printed its result (fsck's 7, a rollback's 6).
struct CommandExit: Error {
    let code: Int32
}
