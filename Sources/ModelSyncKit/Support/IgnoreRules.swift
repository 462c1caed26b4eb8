#if canImport(Glibc)
internal import Glibc
#endif

/// Patterns in gitignore syntax (https://git-scm.com/docs/gitignore), matched against `/`-separated paths
/// relative to the folder the rules belong to.
///
/// What is supported, as git does it: `#` comments and blank lines, `\` escapes (`\#`, `\!`, trailing
/// `\ `), `!` to re-include, a trailing `/` for folders only, a leading or inner `/` anchoring the pattern
/// to the root (otherwise it matches a name at any depth), `*`, `?`, `[…]` within one path segment, and
/// `**` for any number of segments. The last matching pattern wins, and — as in git — a file inside an
/// excluded folder cannot be re-included.
struct IgnoreRules: Sendable {
    /// One pattern line, compiled.
    struct Rule: Sendable {
        /// The pattern's segments (`**` as its own segment).
        let segments: [String]
        /// `!pattern`: a match re-includes.
        let negated: Bool
        /// `pattern/`: matches folders only.
        let directoryOnly: Bool
        /// No slash but a trailing one: the pattern matches the last name at any depth.
        let matchesAnyDepth: Bool
        /// The line as written, for messages.
        let source: String
        /// True for a rule of a built-in list rather than a user's file.
        var builtIn = false
        /// The one-segment pattern as plain text tests, when it needs no fnmatch (`.env`, `*.pem`, `.env.*`).
        var quick: Quick?
    }

    /// A one-segment pattern decided by comparing text.
    enum Quick: Sendable {
        case literal(String), suffix(String), prefix(String)

        init?(_ pattern: String) {
            let special = pattern.filter { "*?[\\".contains($0) }
            if special.isEmpty {
                self = .literal(pattern)
            } else if special == "*" && pattern.hasPrefix("*") {
                self = .suffix(String(pattern.dropFirst()))
            } else if special == "*" && pattern.hasSuffix("*") {
                self = .prefix(String(pattern.dropLast()))
            } else {
                return nil
            }
        }

        func matches(_ name: String) -> Bool {
            switch self {
            case .literal(let text): name == text
            case .suffix(let text): name.hasSuffix(text)
            case .prefix(let text): name.hasPrefix(text)
            }
        }
    }

    let rules: [Rule]

    /// Parses the text of an ignore file.
    init(parsing text: String) {
        rules = text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { Self.rule(String($0)) }
    }

    /// Rules from patterns given one per element (built-in lists).
    init(patterns: [String], builtIn: Bool = false) {
        rules = patterns.compactMap(Self.rule).map { rule in
            var rule = rule
            rule.builtIn = builtIn
            return rule
        }
    }

    private init(rules: [Rule]) {
        self.rules = rules
    }

    /// These rules, then `later`'s: a later rule wins over an earlier one for the same path.
    func followed(by later: IgnoreRules) -> IgnoreRules {
        IgnoreRules(rules: rules + later.rules)
    }

    private static func rule(_ rawLine: String) -> Rule? {
        var line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : rawLine
        // Trailing spaces are ignored unless escaped.
        while line.hasSuffix(" ") && !line.hasSuffix("\\ ") { line.removeLast() }
        if line.hasSuffix("\\ ") { line = String(line.dropLast(2)) + " " }
        guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
        var negated = false
        if line.hasPrefix("!") {
            negated = true
            line.removeFirst()
        } else if line.hasPrefix("\\!") || line.hasPrefix("\\#") {
            line.removeFirst()
        }
        var directoryOnly = false
        if line.hasSuffix("/") {
            directoryOnly = true
            line.removeLast()
        }
        guard !line.isEmpty else { return nil }
        let anchored = line.contains("/")
        if line.hasPrefix("/") { line.removeFirst() }
        let segments = line.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !segments.isEmpty else { return nil }
        return Rule(segments: segments, negated: negated, directoryOnly: directoryOnly, matchesAnyDepth: !anchored,
                    source: rawLine, quick: segments.count == 1 ? Quick(segments[0]) : nil)
    }

    /// The rule that excludes `path` (a file), or nil when the file is kept: either a folder on its way is
    /// excluded, or the last rule matching the file itself is not a negation.
    func excludingRule(for path: String) -> Rule? {
        let segments = path.split(separator: "/").map(String.init)
        guard !segments.isEmpty else { return nil }
        for depth in 1..<segments.count {
            if let rule = excludingFolderRule(Array(segments[0..<depth])) { return rule }
        }
        return excludingFileRule(segments)
    }

    /// The rule that excludes the folder `segments` itself (not looking at its parents), or nil.
    func excludingFolderRule(_ segments: [String]) -> Rule? {
        guard let rule = lastMatch(segments, isDirectory: true), !rule.negated else { return nil }
        return rule
    }

    /// The rule that excludes the file `segments` itself (not looking at its folders), or nil.
    func excludingFileRule(_ segments: [String]) -> Rule? {
        guard let rule = lastMatch(segments, isDirectory: false), !rule.negated else { return nil }
        return rule
    }

    private func lastMatch(_ path: [String], isDirectory: Bool) -> Rule? {
        rules.last { rule in
            if rule.directoryOnly && !isDirectory { return false }
            if let quick = rule.quick, let name = path.last, rule.matchesAnyDepth || path.count == 1 {
                return quick.matches(name)
            }
            if rule.matchesAnyDepth { return Self.matches(rule.segments[...], path.suffix(rule.segments.count)) }
            return Self.matches(rule.segments[...], path[...])
        }
    }

    /// Segment-wise glob match, `**` matching zero or more whole segments. Slices all the way down: a walk
    /// matches every path of a folder against every rule, and copying the pattern at each step would allocate
    /// per segment.
    private static func matches(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            if rest.isEmpty { return true }
            var tail = path
            while true {
                if matches(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        }
        guard let name = path.first, fnmatch(first, name, 0) == 0 else { return false }
        return matches(pattern.dropFirst(), path.dropFirst())
    }
}
