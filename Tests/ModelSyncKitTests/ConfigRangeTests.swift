import Testing
@testable import ModelSyncKit

@Suite("Config ranges: every numeric key refuses NaN, infinities, negatives and absurd values")
struct ConfigRangeTests {
    /// The YAML that sets the dotted `key` to `value`, one mapping level per component; the key is on the
    /// last line, whose number is returned with it.
    static func yaml(setting key: String, to value: String, extra: String = "") -> (text: String, line: Int) {
        let parts = key.split(separator: ".").map(String.init)
        var text = ""
        for (depth, part) in parts.enumerated() {
            let indent = String(repeating: "  ", count: depth)
            text += depth == parts.count - 1 ? "\(indent)\(part): \(value)\n" : "\(indent)\(part):\n"
        }
        return (text + extra, parts.count)
    }

    static let keys = Config.numericRanges.keys.sorted()

    static let hostile = ["nan", ".nan", ".NaN", "inf", ".inf", "-.inf", "-1", "-0.5", "1e300", "-1e300",
                          "99999999999999999999", "0x10", "1_000", "\"\"", "[1]", "{a: 1}"]

    @Test("every hostile value is refused with exit 2, naming the key, the file and the line", arguments: keys)
    func refusesHostileValues(key: String) throws {
        for value in Self.hostile {
            let (text, line) = Self.yaml(setting: key, to: value)
            let error = #expect(throws: ConfigError.self, "\(key): \(value)") {
                try Config.parse(yaml: text, file: "configs/bot.yaml", environment: [:])
            }
            #expect(error?.key == key)
            #expect(error?.line == line)
            #expect(error?.file == "configs/bot.yaml")
            #expect(error?.category.exitCode == 2)
            #expect(error?.message.hasPrefix("configs/bot.yaml:\(line): \(key): expected ") == true, "\(value)")
        }
    }

    @Test("a value just above the maximum is refused and the maximum itself is accepted", arguments: keys)
    func maximumIsTheBound(key: String) throws {
        let range = try #require(Config.numericRanges[key])
        // retry_initial_sec at its maximum needs a retry_max_sec at least as large.
        let extra = key == "model_sync.daemon.retry_initial_sec" ? "    retry_max_sec: 604800\n" : ""
        let top = ConfigRange.format(range.maximum)
        _ = try Config.parse(yaml: Self.yaml(setting: key, to: top, extra: extra).text, file: "bot.yaml", environment: [:])
        let above = ConfigRange.format(range.maximum * 2)
        let error = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: Self.yaml(setting: key, to: above, extra: extra).text, file: "bot.yaml", environment: [:])
        }
        #expect(error?.message.contains("≤ \(top), got \"\(above)\"") == true)
        #expect(error?.hint == "docs/configuration.md gives each numeric key's range")
    }

    @Test("a value below the minimum is refused", arguments: keys)
    func minimumIsTheBound(key: String) throws {
        let range = try #require(Config.numericRanges[key])
        let below = range.minimumIncluded ? ConfigRange.format(range.minimum - 1) : "0"
        #expect(throws: ConfigError.self) {
            try Config.parse(yaml: Self.yaml(setting: key, to: below).text, file: "bot.yaml", environment: [:])
        }
    }

    @Test("a hostile value from a variable is refused the same way and shown as written")
    func hostileValueFromVariable() throws {
        let (text, _) = Self.yaml(setting: "model_sync.runpod.request_timeout_sec", to: "${TIMEOUT}")
        let error = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: text, file: "bot.yaml", environment: ["TIMEOUT": "1e300"])
        }
        #expect(error?.message == #"bot.yaml:3: model_sync.runpod.request_timeout_sec: expected a positive number ≤ 3600, got "${TIMEOUT}""#)
    }

    @Test("a NUL byte in a value, written or from a variable, is refused naming the key")
    func nulBytes() throws {
        let written = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  models_dir: \"a\\0b\"\n", file: "bot.yaml", environment: [:])
        }
        #expect(written?.message == "bot.yaml:2: model_sync.models_dir: expected a string without NUL bytes")
        let expanded = #expect(throws: ConfigError.self) {
            try Config.parse(yaml: "model_sync:\n  remote: ${R}\n", file: "bot.yaml", environment: ["R": "a\u{0}b"])
        }
        #expect(expanded?.key == "model_sync.remote")
    }
}
