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
            6 health check failed (previous set restored), 7 fsck problems left, 8 configured command failed, \
            9 out of space (the previous set stays active).
            """,
        version: version,
        subcommands: [
            PublishCommand.self, PullCommand.self, RunPodPullCommand.self, DaemonCommand.self,
            ImportCommand.self, ActivateCommand.self, RollbackCommand.self, StatusCommand.self, LogCommand.self,
            DiffCommand.self, FsckCommand.self, GCCommand.self, PinCommand.self, PackCommand.self, VersionsCommand.self,
            KeygenCommand.self, VerifyCommand.self, CosignCommand.self,
        ]
    )

    /// Parses and runs, mapping every error to the exit codes of docs/cli.md.
    static func main() {
        HeapPolicy.returnLargeBlocksWhenFreed()
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitWithArgumentParserError(error)
        }
        let json = (command as? any GlobalOptionsCommand)?.global.json ?? false
        var runnable = command
        do {
            try runnable.run()
            Foundation.exit(0)
        } catch let exit as ExitCode {
            // The command printed its result and chose its code (fsck's 7, a rollback's 6, on_activate's 8).
            Foundation.exit(exit.rawValue)
        } catch let thrown as any ModelSyncError {
            let configGiven = (command as? any GlobalOptionsCommand)?.global.config != nil
            let failure = MissingConfigHint.adding(to: thrown, configGiven: configGiven)
            report(failure)
            // With --json, scripts get the failure as the one JSON object on stdout too.
            if json { print(Output.encode(ErrorOutput(failure))) }
            Foundation.exit(failure.category.exitCode)
        } catch {
            // `--help` and `--version` parse into argument-parser's own commands, whose run() throws its answer.
            exitWithArgumentParserError(error)
        }
    }

    /// Ends with argument-parser's answer: a refusal of the arguments (an unknown option, a bad value, a failed
    /// `validate()`), or the text of `--help` or `--version`.
    ///
    /// A refusal means no command was parsed, so nothing says whether `--json` was meant as the flag: the
    /// message goes to stderr only and stdout stays empty, which a script reading `--json` output sees as
    /// "no object".
    static func exitWithArgumentParserError(_ error: any Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            Foundation.exit(0)
        }
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        // argument-parser's EX_USAGE (64) is the contract's usage error (2); anything else it reports is a bug.
        Foundation.exit(code == .validationFailure ? ErrorCategory.usage.exitCode : ErrorCategory.unexpected.exitCode)
    }

    /// Prints `error:` and, when there is one, `hint:` on stderr, secrets scrubbed.
    static func report(_ error: any ModelSyncError) {
        let scrubber = SecretScrubber.shared
        var text = "error: \(scrubber.scrub(error.message))\n"
        if let hint = error.hint { text += "hint: \(scrubber.scrub(hint))\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
