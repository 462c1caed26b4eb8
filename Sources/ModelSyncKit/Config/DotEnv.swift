#if canImport(Glibc)
internal import Glibc
#endif

/// A `.env` file read as Docker Compose and python-dotenv read it.
///
/// Rules: one `KEY=value` per line, an optional `export ` prefix, spaces around `=` allowed; single-quoted
/// values are literal, double-quoted values understand `\n`, `\t`, `\r`, `\"`, `\\` and `\$`, and either
/// kind may span lines; `#` starts a comment on its own line, or after whitespace in an unquoted value (or
/// after the closing quote); blank lines are skipped; a later line overrides an earlier one. Values are taken
/// as written (no `${VAR}` expansion inside `.env`). Errors name the file and the line, never a value.
public enum DotEnv {
    /// The file read when no `--env-file` is given: `.env` in the current directory.
    public static let defaultPath = ".env"

    /// `value` as a double-quoted value, with exactly the escapes ``parse(_:file:)`` reads back
    /// (`KEY=` + this parses to `value`).
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "$": out += "\\$"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The variables of `.env` text; `file` names it in error messages.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> [String: String] {
        var parser = DotEnvParser(scalars: Array(text.unicodeScalars), file: file)
        return try parser.parse()
    }

    /// The variables of the `.env` file at `path`.
    public static func load(path: String) throws(ConfigError) -> [String: String] {
        switch readWholeFile(path) {
        case .success(let bytes):
            return try parse(String(decoding: bytes, as: UTF8.self), file: path)
        case .failure(let failure):
            throw ConfigError(
                .unreadableFile, file: path, reason: "cannot read the .env file: \(failure.text)",
                hint: failure.code == ENOENT ? "check the --env-file path" : nil
            )
        }
    }

    /// The process environment completed by a `.env` file: a variable already in `process` wins.
    ///
    /// With `dotEnvPath` nil, `.env` in the current directory is read when it exists. A path given explicitly
    /// must exist.
    public static func merged(process: [String: String], dotEnvPath: String?) throws(ConfigError) -> [String: String] {
        let fileValues: [String: String]
        if let dotEnvPath {
            fileValues = try load(path: dotEnvPath)
        } else if access(defaultPath, F_OK) == 0 {
            fileValues = try load(path: defaultPath)
        } else {
            return process
        }
        return process.merging(fileValues) { processValue, _ in processValue }
    }
}

/// A hand-written scanner over Unicode scalars (so `\r\n` is two scalars, unlike Swift's `Character`).
private struct DotEnvParser {
    let scalars: [Unicode.Scalar]
    let file: String
    var index = 0
    var line = 1

    init(scalars: [Unicode.Scalar], file: String) {
        self.scalars = scalars
        self.file = file
    }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private func error(_ reason: String, line: Int? = nil, key: String? = nil) -> ConfigError {
        ConfigError(
            .invalidDotEnv, file: file, line: line ?? self.line, key: key, reason: reason,
            hint: "write KEY=value, KEY=\"value\" or KEY='value'"
        )
    }

    private mutating func skipBlanks() {
        while let scalar = current, scalar == " " || scalar == "\t" { index += 1 }
    }

    private mutating func skipToEndOfLine() {
        while let scalar = current, scalar != "\n" { index += 1 }
    }

    /// At the end of a line (past trailing blanks, an optional comment and `\r`), or an error.
    private mutating func expectEndOfLine(key: String) throws(ConfigError) {
        skipBlanks()
        if current == "#" { skipToEndOfLine() }
        if current == "\r" { index += 1 }
        guard current == nil || current == "\n" else {
            throw error("unexpected text after the closing quote", key: key)
        }
    }

    private static func isKeyStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isKeyPart(_ scalar: Unicode.Scalar) -> Bool {
        isKeyStart(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "-"
    }

    mutating func parse() throws(ConfigError) -> [String: String] {
        var result: [String: String] = [:]
        while current != nil {
            skipBlanks()
            switch current {
            case nil:
                break
            case "\n":
                break
            case "\r" where index + 1 >= scalars.count || scalars[index + 1] == "\n":
                index += 1
            case "#":
                skipToEndOfLine()
            default:
                let (key, value) = try assignment()
                result[key] = value
            }
            if current == "\n" {
                index += 1
                line += 1
            }
        }
        return result
    }

    private mutating func word() -> String {
        var text = ""
        while let scalar = current, Self.isKeyPart(scalar) {
            text.unicodeScalars.append(scalar)
            index += 1
        }
        return text
    }

    private mutating func assignment() throws(ConfigError) -> (String, String) {
        guard let first = current, Self.isKeyStart(first) else {
            throw error("expected KEY=value (a variable name starts with a letter or _)")
        }
        var key = word()
        if key == "export", current == " " || current == "\t" {
            skipBlanks()
            guard let next = current, Self.isKeyStart(next) else { throw error("expected a variable name after export") }
            key = word()
        }
        skipBlanks()
        guard current == "=" else {
            throw error("expected = after the variable name", key: key)
        }
        index += 1
        skipBlanks()
        switch current {
        case "'":
            return (key, try quoted(key: key, quote: "'"))
        case "\"":
            return (key, try quoted(key: key, quote: "\""))
        default:
            return (key, unquoted())
        }
    }

    /// The rest of the line; `#` after a blank starts a comment (`KEY=a#b` keeps the `#`, `KEY=a #b` does not).
    private mutating func unquoted() -> String {
        var value = String.UnicodeScalarView()
        while let scalar = current, scalar != "\n" {
            if scalar == "#", index > 0, scalars[index - 1] == " " || scalars[index - 1] == "\t" {
                skipToEndOfLine()
                break
            }
            value.append(scalar)
            index += 1
        }
        while let last = value.last, last == " " || last == "\t" || last == "\r" { value.removeLast() }
        return String(value)
    }

    private mutating func quoted(key: String, quote: Unicode.Scalar) throws(ConfigError) -> String {
        let startLine = line
        index += 1
        var value = String.UnicodeScalarView()
        while true {
            guard let scalar = current else {
                throw error("unterminated quoted value (the quote opened here is never closed)", line: startLine, key: key)
            }
            index += 1
            if scalar == quote { break }
            if scalar == "\n" { line += 1 }
            if quote == "\"", scalar == "\\", let escaped = current {
                index += 1
                switch escaped {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                case "\"", "\\", "$": value.append(escaped)
                default:
                    if escaped == "\n" { line += 1 }
                    value.append("\\")
                    value.append(escaped)
                }
                continue
            }
            value.append(scalar)
        }
        try expectEndOfLine(key: key)
        return String(value)
    }
}
