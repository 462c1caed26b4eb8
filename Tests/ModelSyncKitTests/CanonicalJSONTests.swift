import Testing
@testable import ModelSyncKit

@Suite("Canonical JSON (RFC 8785) encoder and strict parser")
struct CanonicalJSONTests {
    private func encoded(_ value: CanonicalJSONValue) -> String {
        String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
    }

    private func syntaxError(_ text: String) -> String? {
        syntaxError(Array(text.utf8))
    }

    private func syntaxError(_ bytes: [UInt8]) -> String? {
        do {
            _ = try CanonicalJSON.parse(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("strings escape only quote, backslash and control characters, with short forms where RFC 8785 has them")
    func stringEscapes() {
        let text = "q\" b\\ s/ \u{8}\u{9}\u{A}\u{C}\u{D} \u{0}\u{1}\u{1F} del\u{7F} é 😀 \u{2028}"
        #expect(encoded(.string(text))
            == "\"q\\\" b\\\\ s/ \\b\\t\\n\\f\\r \\u0000\\u0001\\u001f del\u{7F} é 😀 \u{2028}\"")
    }

    @Test("non-ASCII characters are written as raw UTF-8 bytes")
    func rawUTF8() {
        #expect(CanonicalJSON.encode(.string("é€😀")) == [0x22, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x22])
    }

    @Test("object keys are sorted by UTF-16 code units, without whitespace")
    func keyOrder() {
        let value = CanonicalJSONValue.object([
            (key: "b", value: .number("2")),
            (key: "\u{FF21}", value: .null),
            (key: "a", value: .array([.number("0"), .bool(true)])),
            (key: "😀", value: .string("x")),
            (key: "B", value: .object([])),
        ])
        // U+1F600 is the surrogate pair D83D DE00 in UTF-16, which sorts before U+FF21.
        #expect(encoded(value) == "{\"B\":{},\"a\":[0,true],\"b\":2,\"😀\":\"x\",\"\u{FF21}\":null}")
    }

    @Test("the parser decodes every escape form, including surrogate pairs and the escaped slash")
    func parsesEscapes() throws {
        let value = try CanonicalJSON.parse(Array(#"["\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"]"#.utf8))
        guard case .array(let elements) = value, case .string(let text) = elements.first else {
            Issue.record("expected an array holding a string, got \(value)")
            return
        }
        #expect(text == "\"\\/\u{8}\u{C}\u{A}\u{D}\u{9}é😀")
    }

    @Test("the parser keeps number lexemes and accepts insignificant whitespace")
    func parsesNumbersAndWhitespace() throws {
        let value = try CanonicalJSON.parse(Array(" { \"n\" : [ -1.5e3 , 0 , 12 ] }\n".utf8))
        guard case .object(let members) = value, case .array(let numbers) = members.first?.value else {
            Issue.record("expected an object holding an array, got \(value)")
            return
        }
        #expect(numbers.map(\.shortDescription) == ["-1.5e3", "0", "12"])
    }

    @Test("the parser refuses duplicate keys, naming the key and its offset")
    func duplicateKeys() {
        #expect(syntaxError(#"{"a":1,"b":2,"a":3}"#) == "duplicate key \"a\" at byte 13")
        // The same key spelled with an escape is still the same key.
        #expect(syntaxError(#"{"a":1,"\u0061":2}"#) == "duplicate key \"a\" at byte 7")
    }

    @Test("the parser refuses what RFC 8259 and I-JSON refuse")
    func invalidDocuments() {
        #expect(syntaxError("") == "unexpected end of input at byte 0")
        #expect(syntaxError("{\"a\":01}") == "expected ',' or '}' in an object, found character '1' at byte 6")
        #expect(syntaxError("[1,]") == "unexpected character ']' at byte 3")
        #expect(syntaxError("{} x") == "unexpected character 'x' after the JSON value at byte 3")
        #expect(syntaxError("[\"a\u{1}\"]") == "unescaped control character in a string at byte 3")
        #expect(syntaxError(#"["\ud800"]"#) == "lone surrogate in a \\u escape at byte 2")
        #expect(syntaxError(#"["\udc00x"]"#) == "lone surrogate in a \\u escape at byte 2")
        #expect(syntaxError(#"["\x"]"#) == "invalid escape sequence: backslash followed by character 'x' at byte 3")
        #expect(syntaxError([0x5B, 0x22, 0xFF, 0x22, 0x5D]) == "invalid UTF-8 in a string at byte 1")
        #expect(syntaxError([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) == "unexpected byte 0xef at byte 0")
        #expect(syntaxError("[tru]") == "invalid literal (expected true) at byte 1")
        #expect(syntaxError("[1.]") == "invalid number: a digit must follow '.' at byte 3")
    }

    @Test("the parser refuses nesting deeper than its limit instead of exhausting the stack")
    func nestingLimit() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(syntaxError(deep) == "nesting deeper than 64 levels at byte 64")
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(syntaxError(fine) == nil)
    }

    @Test("parsing then encoding a canonical document gives the same bytes")
    func roundTrip() throws {
        let text = "{\"a\":[\"x\\ny\",\"é\"],\"b\":{\"c\":9007199254740991}}"
        #expect(encoded(try CanonicalJSON.parse(Array(text.utf8))) == text)
    }
}
