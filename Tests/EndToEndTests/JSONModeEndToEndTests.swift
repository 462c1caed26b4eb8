import Foundation
import Testing

@Suite("--json: one object on stdout, errors included, decided by the parsed flag")
struct JSONModeEndToEndTests {
    @Test("a failing command with --json prints the error object on stdout and the message on stderr")
    func errorObject() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["log", "--json"])
        #expect(result.status == 2)
        let error = try #require(result.json["error"] as? [String: Any], "\(result.stdout)")
        #expect(error["message"] as? String == "no model-sync store at \(sandbox.path)/.model-sync")
        #expect(error["hint"] as? String == "import a models folder first (`model-sync import DIR`), or pass --store")
        #expect(error["category"] as? String == "usage")
        #expect(error["exit_code"] as? Int == 2)
        #expect(Set(error.keys) == ["message", "hint", "category", "exit_code"])
        #expect(result.stderr.contains("error: no model-sync store"))
    }

    @Test("--json given as another option's value does not switch JSON mode on", arguments: [
        ["publish", "--message", "--json"],
        ["import", "--", "--json"],
    ])
    func valueIsNotFlag(_ arguments: [String]) throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
    }

    @Test("the --json flag after a value --json still switches JSON mode on")
    func flagAfterValue() throws {
        let sandbox = Sandbox()
        let result = try sandbox.cli.run(["import", "--json", "--", "--json"])
        #expect(result.status == 2)
        let error = try #require(result.json["error"] as? [String: Any], "\(result.stdout)")
        #expect(error["message"] as? String == "models folder \(sandbox.path)/--json does not exist")
    }

    @Test("fields without a value are written as null, not left out")
    func nullsStay() throws {
        let sandbox = Sandbox()
        sandbox.write("set/model.bin", [1, 2, 3])
        #expect(try sandbox.cli.run(["import", "set"]).status == 0)
        let status = try sandbox.cli.run(["status", "--json"])
        #expect(status.stdout.contains("\"active\":null"), "\(status.stdout)")
        let log = try sandbox.cli.run(["log", "--json"])
        let events = try #require(log.json["events"] as? [[String: Any]])
        let event = try #require(events.first)
        #expect(Set(event.keys) == ["time", "kind", "generation", "from_generation", "manifest", "reason"])
        #expect(event["generation"] is NSNull)
        #expect(event["from_generation"] is NSNull)
        let time = try #require(event["time"] as? String)
        #expect(time.hasSuffix("Z") && time.count == 20, "\(time)")
    }
}
