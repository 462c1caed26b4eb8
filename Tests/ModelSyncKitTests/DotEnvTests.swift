import Foundation
import Testing
@testable import ModelSyncKit

@Suite("DotEnv: .env files read as Docker Compose and python-dotenv read them")
struct DotEnvTests {
    @Test("KEY=value lines, export, quotes, comments and blank lines")
    func parsingRules() throws {
        let text = """
        # a comment

        PLAIN=value
        export EXPORTED=yes
          INDENTED = spaced value   
        SINGLE='literal \\n $HOME'
        DOUBLE="line1\\nline2 \\"q\\" \\\\ \\$"
        INLINE=abc # a comment
        HASH=abc#def
        QUOTED_HASH="a # b" # comment
        EMPTY=
        EMPTY_COMMENT= # nothing
        URL=https://example.com/?a=b&c=d
        DOTTED.KEY=1
        MULTI="first
        second"
        AFTER=ok
        """
        let values = try DotEnv.parse(text, file: ".env")
        #expect(values["PLAIN"] == "value")
        #expect(values["EXPORTED"] == "yes")
        #expect(values["INDENTED"] == "spaced value")
        #expect(values["SINGLE"] == "literal \\n $HOME")
        #expect(values["DOUBLE"] == "line1\nline2 \"q\" \\ $")
        #expect(values["INLINE"] == "abc")
        #expect(values["HASH"] == "abc#def")
        #expect(values["QUOTED_HASH"] == "a # b")
        #expect(values["EMPTY"] == "")
        #expect(values["EMPTY_COMMENT"] == "")
        #expect(values["URL"] == "https://example.com/?a=b&c=d")
        #expect(values["DOTTED.KEY"] == "1")
        #expect(values["MULTI"] == "first\nsecond")
        #expect(values["AFTER"] == "ok")
        #expect(values.count == 14)
    }

    @Test("single quotes are literal")
    func singleQuotes() throws {
        let values = try DotEnv.parse("A='x \\n $y # z'\nexport B='q'\n", file: ".env")
        #expect(values["A"] == "x \\n $y # z")
        #expect(values["B"] == "q")
    }

    @Test("CRLF line endings and a later duplicate override")
    func crlfAndDuplicates() throws {
        let values = try DotEnv.parse("A=1\r\nB=\"2\"\r\n\r\nA=3\r\n", file: ".env")
        #expect(values == ["A": "3", "B": "2"])
    }

    @Test("invalid lines are errors naming file:line, never the value")
    func invalidLines() throws {
        let cases: [(String, String)] = [
            ("A=1\nJUST_A_NAME\n", ".env:2: JUST_A_NAME: expected = after the variable name"),
            ("A=1\n\n1BAD=secret\n", ".env:3: expected KEY=value (a variable name starts with a letter or _)"),
            ("A=\"unterminated secret\nB=2\n", ".env:1: A: unterminated quoted value (the quote opened here is never closed)"),
            ("A='x'secret\n", ".env:1: A: unexpected text after the closing quote"),
            ("MY KEY=secret\n", ".env:1: MY: expected = after the variable name"),
        ]
        for (text, message) in cases {
            let error = try #require(throws: ConfigError.self) { try DotEnv.parse(text, file: ".env") }
            #expect(error.message == message)
            #expect(!error.message.contains("secret"))
            #expect(error.code == .invalidDotEnv)
            #expect(error.category == .usage)
        }
    }

    @Test("merged: the process environment wins over the file; a missing default .env is fine")
    func precedence() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dotenv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("prod.env").path
        try "RUNPOD_API_KEY=from-file\nONLY_FILE=f\n".write(toFile: path, atomically: true, encoding: .utf8)

        let merged = try DotEnv.merged(process: ["RUNPOD_API_KEY": "from-process", "PATH": "/bin"], dotEnvPath: path)
        #expect(merged == ["RUNPOD_API_KEY": "from-process", "ONLY_FILE": "f", "PATH": "/bin"])

        let fileOnly = try DotEnv.merged(process: [:], dotEnvPath: path)
        #expect(fileOnly["RUNPOD_API_KEY"] == "from-file")
    }

    @Test("merged reads ./.env by default and tolerates its absence")
    func defaultFile() throws {
        // The current directory is the package root, which has no .env file.
        if FileManager.default.fileExists(atPath: DotEnv.defaultPath) == false {
            #expect(try DotEnv.merged(process: ["A": "1"], dotEnvPath: nil) == ["A": "1"])
        }
    }

    @Test("an explicit .env path that does not exist is an error")
    func explicitMissingFile() throws {
        let error = try #require(throws: ConfigError.self) {
            try DotEnv.merged(process: [:], dotEnvPath: "missing/prod.env")
        }
        #expect(error.message == "missing/prod.env: cannot read the .env file: No such file or directory")
        #expect(error.hint == "check the --env-file path")
    }

    @Test("a .env value expands into the configuration")
    func feedsConfig() throws {
        let environment = try DotEnv.parse("ENDPOINT=abc\n", file: ".env")
        let config = try Config.parse(
            yaml: "model_sync:\n  runpod:\n    trigger_url: https://api.runpod.ai/v2/${ENDPOINT}/run\n",
            file: "bot.yaml", environment: environment)
        #expect(config.runpod.triggerURL == "https://api.runpod.ai/v2/abc/run")
    }
}
