#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite("configuration files a careless or hostile user writes")
struct ConfigHardeningEndToEndTests {
    @Test("request_timeout_sec: 1e300 (and every hostile number) exits 2 naming the key, the file and the line",
          arguments: ["1e300", "nan", ".inf", "-1", "0"])
    func absurdNumber(value: String) throws {
        let dir = TemporaryDirectory()
        dir.write("bot.yaml", "model_sync:\n  runpod:\n    request_timeout_sec: \(value)\n")
        let result = try CLI(in: dir.path).run(["status", "--config", "bot.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix(
            "error: bot.yaml:3: model_sync.runpod.request_timeout_sec: expected a positive number ≤ 3600, got \"\(value)\"\n"))
        #expect(result.stdout.isEmpty)
    }

    @Test("a billion-laughs config makes even status exit 2 at once, without growing")
    func billionLaughs() throws {
        let dir = TemporaryDirectory()
        var text = "bot:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for (previous, name) in zip(["a", "b", "c", "d", "e", "f", "g", "h"], ["b", "c", "d", "e", "f", "g", "h", "i"]) {
            text += "  \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        text += "model_sync:\n  runpod:\n    trigger_payload: {input: *i}\n"
        dir.write("bot.yaml", text)
        let result = try CLI(in: dir.path).run(["status", "--json", "--config", "bot.yaml"], timeout: 20)
        #expect(result.status == 2)
        #expect(result.stderr.contains("bot.yaml:7: the document expands to more than 100000 nodes (aliases included)"))
        let error = result.json["error"] as? [String: Any]
        #expect(error?["exit_code"] as? Int == 2)
    }

    @Test("a command missing a config key, run without --config beside a config file, says to pass --config",
          arguments: [["pull"], ["runpod-pull"], ["publish"], ["gc", "--registry"], ["pull", "--json"]])
    func passConfigHint(arguments: [String]) throws {
        for place in ["configs/bot.yaml", "config.yaml", "deploy.yml"] {
            let dir = TemporaryDirectory()
            dir.write(place, "bot:\n  symbol: BTC\nmodel_sync:\n  repo_dir: registry\n")
            let result = try CLI(in: dir.path).run(arguments)
            #expect(result.status == 2, "\(arguments) \(place): \(result.stderr)")
            #expect(result.stderr.contains("hint: pass --config \(place) (no configuration file is read without --config)"),
                    "\(arguments) \(place): \(result.stderr)")
            if arguments.contains("--json") {
                let hint = (result.json["error"] as? [String: Any])?["hint"] as? String
                #expect(hint?.hasPrefix("pass --config \(place)") == true)
            }
        }
    }

    @Test("with no config file nearby the hint still says --config; with --config given it is not added")
    func passConfigHintWithoutFile() throws {
        let dir = TemporaryDirectory()
        let bare = try CLI(in: dir.path).run(["pull"])
        #expect(bare.status == 2)
        #expect(bare.stderr.contains("hint: pass --config FILE with a model_sync: section"))
        dir.write("empty.yaml", "model_sync:\n")
        let given = try CLI(in: dir.path).run(["pull", "--config", "empty.yaml"])
        #expect(given.status == 2)
        #expect(!given.stderr.contains("pass --config"))
        #expect(given.stderr.contains("model_sync.repo_dir is not set"))
    }
}

@Suite("configuration and .env files that are not regular files")
struct SpecialConfigFileEndToEndTests {
    @Test("a FIFO, a device or a directory given as --config or --env-file is refused at once with exit 2",
          arguments: ["--config", "--env-file"])
    func specialFiles(option: String) throws {
        let dir = TemporaryDirectory()
        #expect(mkfifo(dir.path + "/fifo", 0o644) == 0)
        try FileManager.default.createDirectory(atPath: dir.path + "/folder", withIntermediateDirectories: true)
        let what = option == "--config" ? "configuration file" : ".env file"
        for (path, reason) in [("fifo", "not a regular file"), ("/dev/zero", "not a regular file"), ("folder", "Is a directory")] {
            let result = try CLI(in: dir.path).run(["status", option, path], timeout: 20)
            #expect(result.status == 2, "\(option) \(path): \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: \(path): cannot read the \(what): \(reason)"), "\(result.stderr)")
        }
    }
}
