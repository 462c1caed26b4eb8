extension ShellCommand {
    /// `template` with each `{name}` of `values` replaced by its value quoted for the shell, so that a path
    /// with a space, a quote, `$`, a backtick or `;` stays one word and runs nothing.
    ///
    /// The quoting follows where the placeholder stands: unquoted it becomes a single-quoted word
    /// (`'/srv/a b'`), inside double quotes its `"`, `\`, `$` and backticks are escaped, inside single quotes
    /// the quote is closed, the value added single-quoted, and the quote reopened. So `test -d {models_dir}`,
    /// `test -d "{models_dir}"` and `echo '{models_dir}'` all receive the path exactly.
    ///
    /// ```swift
    /// ShellCommand.filling("test -d {models_dir}", with: ["models_dir": "/srv/a b"])   // test -d '/srv/a b'
    /// ```
    public static func filling(_ template: String, with values: [String: String]) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        var rest = Substring(template)
        while let character = rest.first {
            if character == "{", !escaped, let (name, value) = placeholder(at: rest, values) {
                result += quoted(value, inside: quote)
                rest = rest.dropFirst(name.count + 2)
                continue
            }
            result.append(character)
            rest = rest.dropFirst()
            switch (quote, character) {
            case (_, _) where escaped: escaped = false
            case ("'", "'"): quote = nil
            case ("'", _): break
            case (_, "\\"): escaped = true
            case (nil, "'"), (nil, "\""): quote = character
            case ("\"", "\""): quote = nil
            default: break
            }
        }
        return result
    }

    /// The placeholder `{name}` that `text` starts with, when `name` is one of `values`.
    private static func placeholder(at text: Substring, _ values: [String: String]) -> (String, String)? {
        guard let close = text.firstIndex(of: "}") else { return nil }
        let name = String(text[text.index(after: text.startIndex)..<close])
        return values[name].map { (name, $0) }
    }

    /// `value` as it must be written at a place whose quoting is `quote` (nil: unquoted).
    static func quoted(_ value: String, inside quote: Character?) -> String {
        switch quote {
        case "\"":
            var result = ""
            for character in value {
                if "\"\\$`".contains(character) { result.append("\\") }
                result.append(character)
            }
            return result
        case "'":
            return "'" + singleQuoted(value) + "'"
        default:
            return singleQuoted(value)
        }
    }

    /// `'value'`, each `'` in it written `'\''`.
    static func singleQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// The variable names the command refers to as `$NAME` or `${NAME…}`.
    ///
    /// A plain scan, not a shell parser: a name that only appears inside single quotes counts too, which at
    /// worst passes a variable the command did not need to a command its own configuration wrote.
    public static func referencedVariables(in command: String) -> Set<String> {
        var names: Set<String> = []
        var rest = Substring(command)
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "{" { rest = rest.dropFirst() }
            let name = rest.prefix { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            if let first = name.first, !first.isNumber { names.insert(String(name)) }
            rest = rest.dropFirst(name.count)
        }
        return names
    }
}
