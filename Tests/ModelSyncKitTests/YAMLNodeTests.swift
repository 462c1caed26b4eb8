import Testing
@testable import ModelSyncKit

@Suite("YAMLNode: libyaml events into a tree")
struct YAMLNodeTests {
    @Test("mappings keep key order and 1-based lines; scalars keep their style")
    func treeWithLines() throws {
        let text = """
        # comment
        top:
          b: 1
          a: "two"
          list:
            - x
            - 'y'
        other: {k: v}
        """
        let root = try #require(try YAMLNode.parse(text, file: "t.yaml"))
        guard case .mapping(let entries, let line) = root else { Issue.record("not a mapping"); return }
        #expect(line == 2)
        #expect(entries.map(\.key) == ["top", "other"])
        #expect(entries.map(\.keyLine) == [2, 8])
        let top = try #require(root["top"])
        guard case .mapping(let inner, _) = top else { Issue.record("top is not a mapping"); return }
        #expect(inner.map(\.key) == ["b", "a", "list"])
        #expect(inner.map(\.keyLine) == [3, 4, 5])
        #expect(top["b"] == .scalar("1", .plain, line: 3))
        #expect(top["a"] == .scalar("two", .quoted, line: 4))
        #expect(top["list"] == .sequence([.scalar("x", .plain, line: 6), .scalar("y", .quoted, line: 7)], line: 6))
        #expect(root["other"]?["k"] == .scalar("v", .plain, line: 8))
    }

    @Test("an empty value is an empty plain scalar; an empty document is nil")
    func emptyValues() throws {
        #expect(try YAMLNode.parse("a:\n", file: "t.yaml")?["a"] == .scalar("", .plain, line: 1))
        #expect(try YAMLNode.parse("", file: "t.yaml") == nil)
        #expect(try YAMLNode.parse("# only a comment\n", file: "t.yaml") == nil)
    }

    @Test("block scalars and !!str count as quoted")
    func blockScalarsAreQuoted() throws {
        let root = try #require(try YAMLNode.parse("a: |\n  x\nb: !!str 12\n", file: "t.yaml"))
        #expect(root["a"] == .scalar("x\n", .quoted, line: 1))
        #expect(root["b"] == .scalar("12", .quoted, line: 3))
    }

    @Test("aliases are replaced by the anchored node")
    func aliases() throws {
        let root = try #require(try YAMLNode.parse("base: &b {x: 1}\ncopy: *b\n", file: "t.yaml"))
        #expect(root["copy"] == root["base"])
        #expect(root["copy"]?["x"] == .scalar("1", .plain, line: 1))
    }

    @Test("a syntax error carries file:line:column and libyaml's problem")
    func syntaxError() throws {
        let error = try #require(throws: YAMLError.self) {
            try YAMLNode.parse("a: 1\nb: [1, 2\nc: 3\n", file: "configs/bad.yaml")
        }
        #expect(error.file == "configs/bad.yaml")
        #expect(error.line == 3)
        #expect(error.column == 2)
        #expect(error.message == "configs/bad.yaml:3:2: did not find expected ',' or ']' (while parsing a flow sequence at line 2)")
        #expect(error.category == .usage)
    }

    @Test("bad indentation is reported at its line")
    func indentationError() throws {
        let error = try #require(throws: YAMLError.self) {
            try YAMLNode.parse("model_sync:\n  remote: origin\n   branch: main\n", file: "x.yaml")
        }
        #expect(error.line == 3)
        #expect(error.message.hasPrefix("x.yaml:3:"))
        #expect(error.message.contains("mapping values are not allowed in this context"))
    }

    @Test("an unknown alias, a complex key and a second document are refused")
    func refusedStructures() throws {
        let alias = try #require(throws: YAMLError.self) { try YAMLNode.parse("a: *nowhere\n", file: "t.yaml") }
        #expect(alias.message == "t.yaml:1: unknown alias *nowhere")
        let complexKey = try #require(throws: YAMLError.self) { try YAMLNode.parse("? [a]\n: 1\n", file: "t.yaml") }
        #expect(complexKey.message == "t.yaml:1: a mapping key must be a scalar, not a mapping or a sequence")
        let twoDocuments = try #require(throws: YAMLError.self) { try YAMLNode.parse("a: 1\n---\nb: 2\n", file: "t.yaml") }
        #expect(twoDocuments.message == "t.yaml:2: more than one YAML document in the file")
    }

    @Test("deep nesting is refused instead of exhausting the stack")
    func deepNesting() throws {
        let text = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        let error = try #require(throws: YAMLError.self) { try YAMLNode.parse(text, file: "t.yaml") }
        #expect(error.reason.contains("nesting deeper than"))
    }
}
