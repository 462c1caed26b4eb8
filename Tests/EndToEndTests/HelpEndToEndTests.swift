import Foundation
import Testing

/// Help text with its line wrapping undone, so assertions do not depend on the terminal width.
private func unwrapped(_ text: String) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
}

@Suite("--help says what each command does, its exit codes and its bounds")
struct HelpEndToEndTests {
    static let subcommands = ["publish", "pull", "runpod-pull", "daemon", "import", "activate", "rollback", "status", "log",
                              "diff", "fsck", "gc", "pin", "pack", "versions", "keygen", "verify", "cosign"]

    @Test("the top-level help gives the abstract, every subcommand and every exit code, 9 included")
    func topLevel() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["--help"])
        #expect(result.status == 0)
        let help = unwrapped(result.stdout)
        #expect(help.contains("Distribute ML model sets as verified, content-addressed snapshots"))
        #expect(help.contains("Exit codes: 0 success, 1 bug, 2 usage or configuration, 3 integrity, 4 remote, "
                              + "5 store busy, 6 health check failed (previous set restored), 7 fsck problems left, "
                              + "8 configured command failed, 9 out of space (the previous set stays active)."), "\(help)")
        for subcommand in Self.subcommands {
            #expect(result.stdout.contains("  \(subcommand) "), "\(subcommand) missing from the help")
        }
    }

    // A multi-line string literal that loses a `\` line continuation keeps the next line's indentation
    // mid-sentence. Left out on purpose: the column gap of an option or subcommand row (the first run of spaces
    // on a line indented by exactly two) and the examples' aligned comments (lines that start `model-sync `).
    @Test("no command's help has a run of three spaces inside a line of prose")
    func noSpaceRunsInProse() throws {
        let sandbox = Sandbox()
        for arguments in [["--help"]] + Self.subcommands.map({ [$0, "--help"] }) {
            let result = try sandbox.cli.run(arguments)
            #expect(result.status == 0)
            for line in result.stdout.split(separator: "\n") {
                var text = line.drop(while: { $0 == " " })
                if text.hasPrefix("model-sync ") { continue }
                if line.distance(from: line.startIndex, to: text.startIndex) == 2, let gap = text.range(of: "  ") {
                    text = text[gap.upperBound...].drop(while: { $0 == " " })
                }
                #expect(text.range(of: "[^ ]   ", options: .regularExpression) == nil,
                        "\(arguments.joined(separator: " ")): \(line)")
            }
        }
    }

    @Test("log --help gives its abstract and --limit's bounds")
    func log() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["log", "--help"])
        #expect(result.status == 0)
        let help = unwrapped(result.stdout)
        #expect(help.contains("OVERVIEW: Show the history of imports, activations, rollbacks and garbage collections."))
        #expect(help.contains("--limit <limit> Show at most this many of the most recent events (1 to 1000000). (default: 100)"),
                "\(help)")
    }

    @Test("gc --help gives its abstract and --grace-sec's bounds")
    func gc() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["gc", "--help"])
        #expect(result.status == 0)
        let help = unwrapped(result.stdout)
        #expect(help.contains("OVERVIEW: Delete objects that no retained generation, pinned or recent manifest references."))
        #expect(help.contains("--grace-sec <seconds> Keep manifests imported less than this many seconds ago, "
                              + "0 to 315360000 (default: gc.grace_sec)."), "\(help)")
    }

    @Test("fsck --help names its exit codes")
    func fsck() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["fsck", "--help"])
        #expect(result.status == 0)
        let help = unwrapped(result.stdout)
        #expect(help.contains("OVERVIEW: Re-hash every object and check the index and the generations against their manifests."))
        #expect(help.contains("Exits 0 when the store is healthy and 7 when problems are left."))
    }
}
