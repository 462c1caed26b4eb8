/// A parsed YAML document as a tree, with the 1-based line where each node starts.
///
/// Scalars keep their text as written (no type resolution): the configuration layer decides what a scalar
/// means from the key it belongs to. Mappings keep their keys in file order, duplicates included, so that the
/// reader can report a duplicate with both lines.
///
/// ```swift
/// let root = try YAMLNode.parse("model_sync:\n  remote: origin\n", file: "bot.yaml")
/// ```
public enum YAMLNode: Sendable {
    /// How a scalar was written: plain (`20`, `true`, `~`) or quoted / block (`"20"`, `'x'`, `|`).
    public enum ScalarStyle: Sendable, Hashable {
        /// Unquoted: its type is resolved from its text (null, bool, number or string).
        case plain
        /// Single- or double-quoted, literal or folded: always a string.
        case quoted
    }

    /// One key of a mapping with the line it is on and its value.
    public typealias Entry = (key: String, keyLine: Int, value: YAMLNode)

    /// A scalar's text, how it was written, and its line.
    case scalar(String, ScalarStyle, line: Int)
    /// A mapping's entries in file order, and the line it starts on.
    case mapping([Entry], line: Int)
    /// A sequence's items, and the line it starts on.
    case sequence([YAMLNode], line: Int)

    /// The 1-based line where this node starts.
    public var line: Int {
        switch self {
        case .scalar(_, _, let line), .mapping(_, let line), .sequence(_, let line): return line
        }
    }

    /// The value of the first entry named `key`, when this is a mapping that has one.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// Nested mappings deeper than this are refused, so hostile input cannot exhaust the stack. Aliases count
    /// with the depth of what they copy.
    static let maximumDepth = 256

    /// A document whose tree, aliases expanded, has more nodes than this is refused: nested aliases (the
    /// "billion laughs") would otherwise make every reader of the tree walk billions of nodes. A configuration
    /// file has a few hundred.
    static let maximumExpandedNodes = 100_000

    /// A document whose scalars, aliases expanded, add up to more bytes than this is refused, for the same
    /// reason: one long scalar aliased many times.
    static let maximumExpandedScalarBytes = 16 << 20

    /// Parses one YAML document with libyaml's event parser.
    ///
    /// Returns nil for an empty stream. Aliases are replaced by a copy of the anchored node; the expanded
    /// tree is bounded (`maximumExpandedNodes`, `maximumExpandedScalarBytes`, `maximumDepth`). Mapping keys must
    /// be scalars. More than one document is an error. Errors carry `file:line:column` and libyaml's problem.
    public static func parse(_ text: String, file: String) throws(YAMLError) -> YAMLNode? {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses one YAML document from raw bytes (UTF-8, or UTF-16 with a byte-order mark).
    public static func parse(bytes: [UInt8], file: String) throws(YAMLError) -> YAMLNode? {
        var builder = try TreeBuilder(parser: YAMLEventParser(bytes: bytes, file: file), file: file)
        return try builder.document()
    }
}

extension YAMLNode: Equatable {
    /// Same kind, same text or children, same lines.
    public static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case let (.scalar(a, sa, la), .scalar(b, sb, lb)):
            return a == b && sa == sb && la == lb
        case let (.sequence(a, la), .sequence(b, lb)):
            return a == b && la == lb
        case let (.mapping(a, la), .mapping(b, lb)):
            return la == lb && a.count == b.count
                && zip(a, b).allSatisfy { $0.key == $1.key && $0.keyLine == $1.keyLine && $0.value == $1.value }
        default:
            return false
        }
    }
}

/// Turns libyaml's event stream into a `YAMLNode` tree by recursive descent, counting the tree as it would be
/// with every alias expanded, so that a small document cannot stand for an enormous one.
private struct TreeBuilder {
    /// An anchored node with the size of its expanded subtree.
    struct Anchored {
        let node: YAMLNode
        let nodes: Int
        let scalarBytes: Int
        /// Levels below the node itself (0 for a scalar).
        let height: Int
    }

    let parser: YAMLEventParser
    let file: String
    var anchors: [String: Anchored] = [:]
    /// Nodes and scalar bytes of the tree so far, aliases expanded.
    var expandedNodes = 0
    var expandedScalarBytes = 0
    /// The deepest level reached so far, aliases expanded (reset per anchored subtree to measure its height).
    var deepest = 0

    init(parser: YAMLEventParser, file: String) {
        self.parser = parser
        self.file = file
    }

    mutating func document() throws(YAMLError) -> YAMLNode? {
        guard case .streamStart = try parser.next() else { throw unexpected(line: 1) }
        var root: YAMLNode?
        var documents = 0
        while true {
            switch try parser.next() {
            case .streamEnd:
                return root
            case .documentStart(let line):
                documents += 1
                if documents > 1 {
                    throw YAMLError(
                        file: file, line: line,
                        reason: "more than one YAML document in the file",
                        hint: "keep a single document (remove the second `---`)"
                    )
                }
                root = try node(from: parser.next(), depth: 0)
                guard case .documentEnd = try parser.next() else { throw unexpected(line: line) }
            default:
                throw unexpected(line: root?.line ?? 1)
            }
        }
    }

    /// Builds one node; an anchored one is remembered with its expanded size for the aliases that follow.
    private mutating func node(from event: YAMLEvent, depth: Int) throws(YAMLError) -> YAMLNode {
        guard depth < YAMLNode.maximumDepth else {
            throw YAMLError(file: file, reason: "nesting deeper than \(YAMLNode.maximumDepth) levels")
        }
        if case .alias(let anchor, let line) = event { return try alias(anchor, line: line, depth: depth) }
        let (nodesBefore, bytesBefore, deepestBefore) = (expandedNodes, expandedScalarBytes, deepest)
        deepest = depth
        let (result, anchor) = try unaliased(event, depth: depth)
        if let anchor {
            anchors[anchor] = Anchored(node: result, nodes: expandedNodes - nodesBefore,
                                       scalarBytes: expandedScalarBytes - bytesBefore, height: deepest - depth)
        }
        deepest = max(deepest, deepestBefore)
        return result
    }

    /// A copy of the anchored node, counted as if written out in full.
    private mutating func alias(_ anchor: String, line: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        guard let target = anchors[anchor] else {
            throw YAMLError(file: file, line: line, reason: "unknown alias *\(anchor)")
        }
        guard depth + target.height < YAMLNode.maximumDepth else {
            throw YAMLError(file: file, line: line,
                            reason: "alias *\(anchor) expands to nesting deeper than \(YAMLNode.maximumDepth) levels")
        }
        deepest = max(deepest, depth + target.height)
        try count(nodes: target.nodes, scalarBytes: target.scalarBytes, line: line)
        return target.node
    }

    /// Adds to the expanded size; past either bound the document is refused at `line`.
    private mutating func count(nodes: Int, scalarBytes: Int, line: Int) throws(YAMLError) {
        expandedNodes += nodes
        expandedScalarBytes += scalarBytes
        guard expandedNodes <= YAMLNode.maximumExpandedNodes,
              expandedScalarBytes <= YAMLNode.maximumExpandedScalarBytes
        else {
            let bound = expandedNodes > YAMLNode.maximumExpandedNodes
                ? "\(YAMLNode.maximumExpandedNodes) nodes" : "\(YAMLNode.maximumExpandedScalarBytes) bytes of text"
            throw YAMLError(file: file, line: line,
                            reason: "the document expands to more than \(bound) (aliases included)",
                            hint: "write the values out, or use fewer and less nested aliases (*name)")
        }
    }

    /// A scalar, a sequence or a mapping, and its anchor.
    private mutating func unaliased(_ event: YAMLEvent, depth: Int) throws(YAMLError) -> (YAMLNode, String?) {
        switch event {
        case .scalar(let value, let anchor, let tag, let quoted, let line):
            try count(nodes: 1, scalarBytes: value.utf8.count, line: line)
            // An explicit `!!str` makes a plain scalar a string, as quoting would.
            let forcedString = tag == "tag:yaml.org,2002:str"
            return (YAMLNode.scalar(value, quoted || forcedString ? .quoted : .plain, line: line), anchor)
        case .sequenceStart(let anchor, let line):
            try count(nodes: 1, scalarBytes: 0, line: line)
            var items: [YAMLNode] = []
            while true {
                let next = try parser.next()
                if case .sequenceEnd = next { break }
                items.append(try node(from: next, depth: depth + 1))
            }
            return (YAMLNode.sequence(items, line: line), anchor)
        case .mappingStart(let anchor, let line):
            try count(nodes: 1, scalarBytes: 0, line: line)
            return (YAMLNode.mapping(try entries(depth: depth), line: line), anchor)
        default:
            throw unexpected(line: 1)
        }
    }

    /// The entries of a mapping up to its end; keys must be scalars.
    private mutating func entries(depth: Int) throws(YAMLError) -> [YAMLNode.Entry] {
        var entries: [YAMLNode.Entry] = []
        while true {
            let next = try parser.next()
            if case .mappingEnd = next { break }
            let keyNode = try node(from: next, depth: depth + 1)
            guard case .scalar(let key, _, let keyLine) = keyNode else {
                throw YAMLError(
                    file: file, line: keyNode.line,
                    reason: "a mapping key must be a scalar, not a mapping or a sequence"
                )
            }
            let value = try node(from: parser.next(), depth: depth + 1)
            entries.append((key: key, keyLine: keyLine, value: value))
        }
        return entries
    }

    private func unexpected(line: Int) -> YAMLError {
        YAMLError(file: file, line: line, reason: "unexpected YAML event order")
    }
}
