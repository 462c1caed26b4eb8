/// Reads typed values out of the YAML tree of a `model_sync:` section, naming the file, line and dotted key
/// in every error. Strings go through `${VAR}` expansion first.
struct ConfigReader {
    let file: String
    let expansion: VariableExpansion
    /// The variables expanded so far outside path keys: their values are secrets to scrub.
    let secretVariables = VariableLog()

    /// Keys whose value is a path: a variable expanded there is not a secret (paths are shown everywhere, and
    /// scrubbing them would hide the very path an error is about).
    static let pathKeys: Set<String> = [
        "model_sync.models_dir", "model_sync.store_dir", "model_sync.repo_dir", "model_sync.git.ssh_key",
        "model_sync.runpod.ca_bundle", "model_sync.daemon.metrics_file",
        "model_sync.oci.ca_bundle",
    ]

    /// A set of names filled while the tree is read (the reader itself is passed by value).
    final class VariableLog {
        var names: Set<String> = []
    }

    /// A scalar after expansion; `raw` is the text as written, the only form shown in messages (an expanded
    /// value may be a secret).
    struct Scalar {
        let text: String
        let raw: String
        let plain: Bool
    }

    func error(_ key: String, _ line: Int, _ reason: String, hint: String? = nil) -> ConfigError {
        ConfigError(.invalidValue, file: file, line: line, key: key, reason: reason, hint: hint)
    }

    /// How a value is described after "got": the scalar as written in quotes, or its kind.
    static func describe(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let raw, _, _): return "\"\(raw)\""
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        }
    }

    /// True for YAML's plain null spellings: empty, `~`, `null`, `Null`, `NULL`.
    static func isNull(_ text: String) -> Bool {
        ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// The scalar with variables expanded; nil for a null; an error for a mapping or a sequence.
    func scalar(_ node: YAMLNode, key: String, line: Int, expecting: String) throws(ConfigError) -> Scalar? {
        guard case .scalar(let raw, let style, _) = node else {
            throw error(key, line, "expected \(expecting), got \(Self.describe(node))")
        }
        let text = try expand(raw, key: key, line: line)
        // No path, name, URL or command can hold a NUL: every C call would cut the value there.
        guard !text.utf8.contains(0) else {
            throw error(key, line, "expected \(expecting) without NUL bytes", hint: "remove the \\0 from the value")
        }
        if style == .plain, Self.isNull(text) { return nil }
        return Scalar(text: text, raw: raw, plain: style == .plain)
    }

    func expand(_ raw: String, key: String, line: Int) throws(ConfigError) -> String {
        if !Self.pathKeys.contains(key) { secretVariables.names.formUnion(VariableExpansion.references(in: raw)) }
        do throws(VariableExpansion.Failure) {
            return try expansion.expand(raw)
        } catch {
            switch error {
            case .undefined(let name):
                throw ConfigError(
                    .undefinedVariable, file: file, line: line, key: key,
                    reason: "variable \(name) is not set",
                    hint: "set \(name) in the environment or the .env file, or give a default: ${\(name):-value}"
                )
            case .malformed(let reason):
                throw self.error(key, line, reason, hint: "write $$ for a literal dollar sign")
            }
        }
    }

    /// A YAML 1.1-style plain scalar as JSON: null, true/false (any case spelling of those two words only),
    /// an integer, a decimal number, else a string.
    static func resolvePlain(_ text: String) -> JSONValue {
        if isNull(text) { return .null }
        if ["true", "True", "TRUE"].contains(text) { return .bool(true) }
        if ["false", "False", "FALSE"].contains(text) { return .bool(false) }
        if let value = integer(text) { return .int(value) }
        if let value = number(text) { return .number(value) }
        return .string(text)
    }

    /// `[-+]?[0-9]+` as an `Int64`.
    static func integer(_ text: String) -> Int64? {
        var digits = Substring(text)
        if let sign = digits.first, sign == "+" || sign == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int64(text)
    }

    /// A decimal number (`20`, `0.5`, `1e3`, `-2.5E-1`); not `inf`, `nan` or hexadecimal, which Swift's
    /// `Double(_:)` would also take.
    static func number(_ text: String) -> Double? {
        guard text.contains(where: { ("0"..."9").contains($0) }),
              text.allSatisfy({ ("0"..."9").contains($0) || "+-.eE".contains($0) }),
              let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}

/// One mapping of the configuration (`model_sync`, `model_sync.runpod`...), its unknown and duplicate keys
/// already refused; each accessor returns nil when the key is absent or null.
struct SectionReader {
    let reader: ConfigReader
    /// The dotted path of this mapping (`model_sync.runpod`).
    let path: String
    /// The line of this mapping's own key, for errors about a missing key.
    let line: Int
    private var values: [String: (keyLine: Int, value: YAMLNode)] = [:]

    init(_ node: YAMLNode, path: String, line: Int, known: [String], reader: ConfigReader) throws(ConfigError) {
        self.reader = reader
        self.path = path
        self.line = line
        let entries: [YAMLNode.Entry]
        switch node {
        case .mapping(let items, _):
            entries = items
        case .scalar(let raw, .plain, _) where ConfigReader.isNull(raw):
            entries = []
        default:
            throw reader.error(path, line, "expected a mapping, got \(ConfigReader.describe(node))")
        }
        for entry in entries {
            let key = "\(path).\(entry.key)"
            guard known.contains(entry.key) else {
                throw ConfigError(
                    .unknownKey, file: reader.file, line: entry.keyLine, key: key, reason: "unknown key",
                    hint: Self.suggestion(for: entry.key, among: known)
                )
            }
            if let first = values[entry.key] {
                throw ConfigError(
                    .duplicateKey, file: reader.file, line: entry.keyLine, key: key,
                    reason: "given twice (first on line \(first.keyLine))", hint: "remove one of the two"
                )
            }
            values[entry.key] = (entry.keyLine, entry.value)
        }
    }

    /// `did you mean "x"?` for the closest known key when it is close enough, else the list of known keys.
    static func suggestion(for key: String, among known: [String]) -> String {
        let ranked = known.map { (name: $0, distance: editDistance(key, $0)) }.min { $0.distance < $1.distance }
        if let best = ranked, best.distance <= max(2, key.count / 3) {
            return "did you mean \"\(best.name)\"?"
        }
        return "known keys here: " + known.joined(separator: ", ")
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }

    func has(_ name: String) -> Bool { values[name] != nil }

    func keyLine(_ name: String) -> Int { values[name]?.keyLine ?? line }

    private func entry(_ name: String) -> (key: String, line: Int, node: YAMLNode)? {
        guard let found = values[name] else { return nil }
        return ("\(path).\(name)", found.keyLine, found.value)
    }

    /// A nested mapping; an absent or null key gives an empty section.
    func section(_ name: String, known: [String]) throws(ConfigError) -> SectionReader {
        let found = entry(name)
        return try SectionReader(
            found?.node ?? .scalar("", .plain, line: line), path: "\(path).\(name)", line: found?.line ?? line,
            known: known, reader: reader
        )
    }

    func string(_ name: String) throws(ConfigError) -> String? {
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: "a string")
        else { return nil }
        guard !scalar.text.isEmpty else { throw reader.error(key, line, "expected a non-empty string, got \"\"") }
        return scalar.text
    }

    /// The longest configured command accepted, in bytes.
    static let longestShellCommand = 65_536

    /// A shell command line, kept as written: `${VAR}` is checked (an unset variable without a default is an
    /// error, as elsewhere) but left for the shell to expand, so a secret never lands in the child's argv.
    func shellCommand(_ name: String) throws(ConfigError) -> String? {
        guard let (key, line, node) = entry(name),
              try reader.scalar(node, key: key, line: line, expecting: "a shell command") != nil,
              case .scalar(let raw, _, _) = node
        else { return nil }
        guard !raw.allSatisfy(\.isWhitespace) else {
            throw reader.error(key, line, "expected a shell command, got \"\(raw)\"")
        }
        // Linux refuses one argument over 128 KiB (E2BIG); leave room for the substituted placeholders.
        guard raw.utf8.count <= Self.longestShellCommand else {
            throw reader.error(key, line, "expected a shell command of at most \(Self.longestShellCommand) bytes, got "
                                   + "\(raw.utf8.count)", hint: "put the commands in a script and run the script")
        }
        return raw
    }

    func bool(_ name: String) throws(ConfigError) -> Bool? {
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: "true or false")
        else { return nil }
        switch scalar.text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw reader.error(key, line, "expected true or false, got \"\(scalar.raw)\"")
        }
    }

    /// A number of seconds inside the key's range (`Config.numericRanges`); `allowZero` is kept for callers
    /// and must agree with the range.
    func seconds(_ name: String, allowZero: Bool = false) throws(ConfigError) -> Double? {
        let range = Self.range(of: "\(path).\(name)")
        assert(range.minimumIncluded == allowZero, "the range of \(path).\(name) disagrees with its reader")
        let expected = range.expectation(integer: false)
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: expected)
        else { return nil }
        guard let value = ConfigReader.number(scalar.text), range.contains(value) else {
            throw reader.error(key, line, "expected \(expected), got \"\(scalar.raw)\"", hint: Self.rangeHint)
        }
        return value
    }

    /// An integer inside the key's range (`Config.numericRanges`), whose minimum must be `minimum`.
    func integer(_ name: String, minimum: Int64) throws(ConfigError) -> Int64? {
        let range = Self.range(of: "\(path).\(name)")
        assert(range.minimum == Double(minimum), "the range of \(path).\(name) disagrees with its reader")
        let expected = range.expectation(integer: true)
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: expected)
        else { return nil }
        guard let value = ConfigReader.integer(scalar.text), range.contains(Double(value)) else {
            throw reader.error(key, line, "expected \(expected), got \"\(scalar.raw)\"", hint: Self.rangeHint)
        }
        return value
    }

    private static let rangeHint = "docs/configuration.md gives each numeric key's range"

    /// The range of a numeric key; a key without one is a programming error, caught by the tests.
    private static func range(of key: String) -> ConfigRange {
        guard let range = Config.numericRanges[key] else { preconditionFailure("no range for \(key)") }
        return range
    }

    /// One of `choices`, compared without case when `ignoringCase`; returns the spelling from `choices`.
    func choice(_ name: String, _ choices: [String], ignoringCase: Bool = false) throws(ConfigError) -> String? {
        let expected = "one of " + choices.joined(separator: ", ")
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: expected)
        else { return nil }
        let match = choices.first { ignoringCase ? $0.lowercased() == scalar.text.lowercased() : $0 == scalar.text }
        guard let match else { throw reader.error(key, line, "expected \(expected), got \"\(scalar.raw)\"") }
        return match
    }

    /// `HH:MM`, 00:00 to 23:59.
    func schedule(_ name: String) throws(ConfigError) -> String? {
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: "a time of day \"HH:MM\"")
        else { return nil }
        guard let time = DailyTime(parsing: scalar.text) else {
            throw reader.error(key, line, "expected a time of day \"HH:MM\" (00:00 to 23:59), got \"\(scalar.raw)\"")
        }
        return time.description
    }

    /// An http or https URL with a host; with `placeholder`, the URL must contain it (`{job_id}`).
    func url(_ name: String, placeholder: String? = nil) throws(ConfigError) -> String? {
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: "an http or https URL")
        else { return nil }
        guard Self.isHTTPURL(scalar.text) else {
            throw reader.error(key, line, "expected an http or https URL with a host, got \"\(scalar.raw)\"")
        }
        if let placeholder, !scalar.text.contains(placeholder) {
            throw reader.error(key, line, "expected a URL containing \(placeholder), got \"\(scalar.raw)\"")
        }
        return scalar.text
    }

    /// `http://` or `https://`, a non-empty host, no whitespace. Hand-written rather than `URL(string:)`
    /// because templates hold `{job_id}` and the seed's example holds `<ENDPOINT_ID>`, which it refuses.
    static func isHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard let scheme = ["https://", "http://"].first(where: { lower.hasPrefix($0) }),
              !text.contains(where: { $0.isWhitespace })
        else { return false }
        let authority = text.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        let host = hostAndPort.hasPrefix("[")
            ? hostAndPort.prefix { $0 != "]" }.dropFirst()
            : hostAndPort.prefix { $0 != ":" }
        return !host.isEmpty
    }

    /// An environment variable name.
    func variableName(_ name: String) throws(ConfigError) -> String? {
        let expected = "an environment variable name"
        guard let (key, line, node) = entry(name),
              let scalar = try reader.scalar(node, key: key, line: line, expecting: expected)
        else { return nil }
        guard VariableExpansion.isVariableName(scalar.text) else {
            throw reader.error(key, line, "expected \(expected) ([A-Za-z_][A-Za-z0-9_]*), got \"\(scalar.raw)\"")
        }
        return scalar.text
    }

    /// A relative path that stays inside its parent: not absolute, no `..` component.
    func relativePath(_ name: String) throws(ConfigError) -> String? {
        guard let value = try string(name), let (key, line, node) = entry(name) else { return nil }
        let components = value.split(separator: "/")
        guard !value.hasPrefix("/"), !components.contains(".."), !components.isEmpty else {
            throw reader.error(
                key, line, "expected a relative path without \"..\", got \(ConfigReader.describe(node))"
            )
        }
        return value
    }

    /// A mapping of strings (HTTP headers); scalar values are taken as their text.
    func stringMap(_ name: String) throws(ConfigError) -> [String: String]? {
        guard let (key, line, node) = entry(name) else { return nil }
        let entries: [YAMLNode.Entry]
        switch node {
        case .mapping(let items, _): entries = items
        case .scalar(let raw, .plain, _) where ConfigReader.isNull(raw): return nil
        default: throw reader.error(key, line, "expected a mapping of names to strings, got \(ConfigReader.describe(node))")
        }
        var result: [String: String] = [:]
        for entry in entries {
            let itemKey = "\(key).\(entry.key)"
            guard result[entry.key] == nil else {
                throw ConfigError(.duplicateKey, file: reader.file, line: entry.keyLine, key: itemKey, reason: "given twice")
            }
            let scalar = try reader.scalar(entry.value, key: itemKey, line: entry.keyLine, expecting: "a string")
            result[entry.key] = scalar?.text ?? ""
        }
        return result
    }

    /// A list of strings (`signing.trusted_keys`); each item is passed to `parse`, which names what is wrong
    /// with it (nil: fine). A single scalar is refused, so a missing `-` is not silently one item.
    func stringList(_ name: String, expecting: String, parse: (String) -> String?) throws(ConfigError) -> [String]? {
        guard let (key, line, node) = entry(name) else { return nil }
        switch node {
        case .sequence(let items, _):
            var result: [String] = []
            for (index, item) in items.enumerated() {
                let itemKey = "\(key)[\(index)]"
                guard let scalar = try reader.scalar(item, key: itemKey, line: item.line, expecting: expecting) else {
                    throw reader.error(itemKey, item.line, "expected \(expecting), got null")
                }
                if let problem = parse(scalar.text) { throw reader.error(itemKey, item.line, problem) }
                result.append(scalar.text)
            }
            return result
        case .scalar(let raw, .plain, _) where ConfigReader.isNull(raw): return nil
        default: throw reader.error(key, line, "expected a list of \(expecting), got \(ConfigReader.describe(node))",
                                    hint: "write one item per line, each starting with `- `")
        }
    }

    /// Any YAML value as JSON; with `requireObject`, it must be a mapping.
    func json(_ name: String, requireObject: Bool) throws(ConfigError) -> JSONValue? {
        guard let (key, line, node) = entry(name) else { return nil }
        if case .scalar(let raw, .plain, _) = node, ConfigReader.isNull(raw) { return nil }
        if requireObject, case .mapping = node {} else if requireObject {
            throw reader.error(key, line, "expected a mapping, got \(ConfigReader.describe(node))")
        }
        return try json(node, key: key, line: line)
    }

    private func json(_ node: YAMLNode, key: String, line: Int) throws(ConfigError) -> JSONValue {
        switch node {
        case .scalar(let raw, let style, let scalarLine):
            let text = try reader.expand(raw, key: key, line: scalarLine)
            return style == .plain ? ConfigReader.resolvePlain(text) : .string(text)
        case .sequence(let items, _):
            var values: [JSONValue] = []
            for (index, item) in items.enumerated() {
                values.append(try json(item, key: "\(key)[\(index)]", line: item.line))
            }
            return .array(values)
        case .mapping(let entries, _):
            var members: [String: JSONValue] = [:]
            for entry in entries {
                let itemKey = "\(key).\(entry.key)"
                guard members[entry.key] == nil else {
                    throw ConfigError(.duplicateKey, file: reader.file, line: entry.keyLine, key: itemKey, reason: "given twice")
                }
                members[entry.key] = try json(entry.value, key: itemKey, line: entry.keyLine)
            }
            return .object(members)
        }
    }
}
