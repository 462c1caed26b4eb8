import Testing
@testable import ModelSyncKit

@Suite("JSONValue: the trigger payload's JSON")
struct ConfigJSONValueTests {
    @Test("serializes compactly with sorted keys")
    func serialization() {
        let value = JSONValue.object([
            "input": .object(["prompt": .string("go"), "n": .int(-3), "rate": .number(0.25)]),
            "flags": .array([.bool(true), .bool(false), .null]),
        ])
        #expect(value.jsonString == #"{"flags":[true,false,null],"input":{"n":-3,"prompt":"go","rate":0.25}}"#)
        #expect(JSONValue.object([:]).jsonString == "{}")
        #expect(JSONValue.array([]).jsonString == "[]")
        #expect(JSONValue.number(.infinity).jsonString == "null")
    }

    @Test("escapes quotes, backslashes and control characters and keeps UTF-8 raw")
    func escaping() {
        let text = "a\"b\\c\nd\te\u{01}/é"
        #expect(JSONValue.string(text).jsonString == #""a\"b\\c\nd\te\u0001/é""#)
        #expect(JSONValue.string("x").jsonBytes() == Array(#""x""#.utf8))
    }

    @Test("plain YAML scalars resolve to null, bool, int, number or string; quoted stay strings")
    func resolution() throws {
        let config = try Config.parse(yaml: """
            model_sync:
              runpod:
                trigger_payload:
                  values: [~, null, "", true, False, TRUE, yes, no, 42, -7, 1.5, 1e3, .inf, 0x10, "42", 'true', hello]
            """, file: "t.yaml", environment: [:])
        #expect(config.runpod.triggerPayload["values"] == .array([
            .null, .null, .string(""), .bool(true), .bool(false), .bool(true), .string("yes"), .string("no"),
            .int(42), .int(-7), .number(1.5), .number(1000), .string(".inf"), .string("0x10"), .string("42"),
            .string("true"), .string("hello"),
        ]))
    }
}
