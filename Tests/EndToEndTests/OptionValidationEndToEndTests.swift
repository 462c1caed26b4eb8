import Foundation
import Testing

/// One refused option value and what the refusal must say.
struct RefusedOption: Sendable, CustomTestStringConvertible {
    let arguments: [String]
    /// A part of the message on stderr: the option's name at least, the whole sentence where it is ours.
    let message: String

    var testDescription: String { arguments.joined(separator: " ") }
}

@Suite("numeric and enumerated options refuse bad values before doing anything")
struct OptionValidationEndToEndTests {
    static let refused: [RefusedOption] = [
        // log --limit: 1 to 1000000.
        RefusedOption(arguments: ["log", "--limit=-5"], message: "--limit must be from 1 to 1000000, not -5"),
        RefusedOption(arguments: ["log", "--limit", "-5"], message: "--limit"),
        RefusedOption(arguments: ["log", "--limit", "0"], message: "--limit must be from 1 to 1000000, not 0"),
        RefusedOption(arguments: ["log", "--limit", "1000001"], message: "--limit must be from 1 to 1000000, not 1000001"),
        RefusedOption(arguments: ["log", "--limit", "nan"], message: "--limit"),
        RefusedOption(arguments: ["log", "--limit", "1e300"], message: "--limit"),
        RefusedOption(arguments: ["log", "--limit", "99999999999999999999"], message: "--limit"),
        // gc --grace-sec: 0 to ten years, finite.
        RefusedOption(arguments: ["gc", "--grace-sec", "nan"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not nan"),
        RefusedOption(arguments: ["gc", "--grace-sec=-1"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not -1.0"),
        RefusedOption(arguments: ["gc", "--grace-sec", "-1"], message: "--grace-sec"),
        RefusedOption(arguments: ["gc", "--grace-sec", "inf"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not inf"),
        RefusedOption(arguments: ["gc", "--grace-sec=-inf"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not -inf"),
        RefusedOption(arguments: ["gc", "--grace-sec", "1e300"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not 1e+300"),
        RefusedOption(arguments: ["gc", "--grace-sec", "315360001"],
                      message: "--grace-sec must be a number of seconds from 0 to 315360000 (ten years), not 315360001.0"),
        RefusedOption(arguments: ["gc", "--grace-sec", "a day"], message: "--grace-sec"),
        // rollback --to: a generation number, 1 to a billion.
        RefusedOption(arguments: ["rollback", "--to", "0"],
                      message: "--to must be a generation number from 1 to 1000000000, not 0"),
        RefusedOption(arguments: ["rollback", "--to=-1"],
                      message: "--to must be a generation number from 1 to 1000000000, not -1"),
        RefusedOption(arguments: ["rollback", "--to", "1000000001"],
                      message: "--to must be a generation number from 1 to 1000000000, not 1000000001"),
        RefusedOption(arguments: ["rollback", "--to", "nan"], message: "--to"),
        // daemon's enumerations.
        RefusedOption(arguments: ["daemon", "--role", "nobody", "--config", "bot.yaml"], message: "--role"),
        RefusedOption(arguments: ["daemon", "--role", "client", "--log-format", "xml", "--config", "bot.yaml"],
                      message: "--log-format"),
    ]

    @Test("a bad value exits 2 with a message naming the option, and prints nothing on stdout", arguments: refused)
    func refusesBadValue(_ refused: RefusedOption) throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(refused.arguments + ["--json"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(refused.message), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
    }

    @Test("the bounds themselves are accepted")
    func acceptsBoundaries() throws {
        let sandbox = Sandbox()
        sandbox.write("set/model.bin", [1, 2, 3])
        #expect(try sandbox.cli.run(["import", "set"]).status == 0)
        for arguments in [["log", "--limit", "1"], ["log", "--limit=1000000"],
                          ["gc", "--dry-run", "--grace-sec", "0"], ["gc", "--dry-run", "--grace-sec", "315360000"],
                          ["gc", "--dry-run", "--grace-sec", "0.5"]] {
            let result = try sandbox.cli.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        // Within bounds, rollback gets past validation to the store, which has no such generation.
        for generation in ["1", "1000000000"] {
            let result = try sandbox.cli.run(["rollback", "--to", generation])
            #expect(!result.stderr.contains("--to must be"), "\(result.stderr)")
            #expect(result.stderr.contains("error: "), "\(result.stderr)")
        }
    }
}
