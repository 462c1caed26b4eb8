import Testing
@testable import ModelSyncKit

@Suite("Config: YAML errors become configuration errors with file:line messages")
struct ConfigYAMLErrorTests {
    @Test("a YAML syntax error in the configuration is an invalid-yaml ConfigError with file:line:column")
    func syntaxError() throws {
        let error = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  remote: [a, b\n  branch: main\n", file: "bot.yaml", environment: [:])
        }
        #expect(error.code == .invalidYAML)
        #expect(error.file == "bot.yaml")
        #expect(error.line == 3)
        #expect(error.column == 9)
        #expect(error.message == "bot.yaml:3:9: did not find expected ',' or ']' (while parsing a flow sequence at line 2)")
        #expect(error.hint == "fix the YAML syntax at that position")
        #expect(error.category == .usage)
    }

    @Test("a structure the YAML layer refuses keeps its line and text as a ConfigError")
    func refusedStructure() throws {
        let error = try #require(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  remote: *nowhere\n", file: "bot.yaml", environment: [:])
        }
        #expect(error.code == .invalidYAML)
        #expect(error.message == "bot.yaml:2: unknown alias *nowhere")
    }

    @Test("the mapping copies every field of the YAML error")
    func mapping() {
        let yaml = YAMLError(file: "f.yaml", line: 4, column: 2, reason: "bad", hint: "fix it")
        let config = ConfigError(yaml)
        #expect(config.message == yaml.message)
        #expect(config.message == "f.yaml:4:2: bad")
        #expect(config.hint == "fix it")
    }
}
