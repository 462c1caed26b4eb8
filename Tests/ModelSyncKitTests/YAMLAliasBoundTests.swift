import Testing
@testable import ModelSyncKit

@Suite("YAMLNode: aliases cannot expand without bound")
struct YAMLAliasBoundTests {
    /// The classic "billion laughs": nine levels of nine aliases to the level below, a few hundred bytes that
    /// stand for 9⁹ scalars. `under` nests it below that key path.
    static func billionLaughs(under prefix: String = "") -> String {
        var text = prefix + "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            let items = Array(repeating: "*\(previous)", count: 9).joined(separator: ",")
            text += prefix + "\(name): &\(name) [\(items)]\n"
        }
        return text
    }

    @Test("a billion-laughs document is refused at the alias that passes the bound")
    func billionLaughsRefused() throws {
        let error = #expect(throws: YAMLError.self) { try YAMLNode.parse(Self.billionLaughs(), file: "bomb.yaml") }
        #expect(error?.reason == "the document expands to more than 100000 nodes (aliases included)")
        #expect(error?.hint == "write the values out, or use fewer and less nested aliases (*name)")
        #expect(error?.line == 6)
        #expect(error?.category.exitCode == 2)
    }

    @Test("one long scalar aliased many times is refused by its expanded bytes")
    func longScalarAliased() throws {
        let long = String(repeating: "x", count: 1 << 20)
        let items = Array(repeating: "*big", count: 20).joined(separator: ", ")
        let text = "big: &big \"\(long)\"\nmany: [\(items)]\n"
        let error = #expect(throws: YAMLError.self) { try YAMLNode.parse(text, file: "bomb.yaml") }
        #expect(error?.reason == "the document expands to more than 16777216 bytes of text (aliases included)")
    }

    @Test("an alias of a deep node counts its depth where it is used")
    func deepThroughAliases() throws {
        let deep = String(repeating: "[", count: 200) + "x" + String(repeating: "]", count: 200)
        let wrapped = String(repeating: "[", count: 100) + "*d" + String(repeating: "]", count: 100)
        let error = #expect(throws: YAMLError.self) {
            try YAMLNode.parse("d: &d \(deep)\ne: \(wrapped)\n", file: "deep.yaml")
        }
        #expect(error?.reason == "alias *d expands to nesting deeper than 256 levels")
        #expect(error?.line == 2)
    }

    @Test("ordinary aliases within the bounds still work")
    func ordinaryAliases() throws {
        let text = "base: &base {x: 1, y: [a, b]}\ncopies: [*base, *base, *base]\n"
        let root = try #require(try YAMLNode.parse(text, file: "ok.yaml"))
        guard case .sequence(let items, _) = root["copies"] else { Issue.record("not a sequence"); return }
        #expect(items.count == 3)
        #expect(items.allSatisfy { $0["x"] != nil })
    }

    @Test("a billion-laughs config is a configuration error naming the file and the line")
    func billionLaughsConfig() throws {
        let text = "model_sync:\n  runpod:\n    trigger_payload:\n" + Self.billionLaughs(under: "      ")
        let error = #expect(throws: ConfigError.self) { try Config.parse(yaml: text, file: "bot.yaml", environment: [:]) }
        #expect(error?.message == "bot.yaml:9: the document expands to more than 100000 nodes (aliases included)")
        #expect(error?.code == .invalidYAML)
    }
}
