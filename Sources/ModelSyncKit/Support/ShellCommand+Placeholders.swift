extension ShellCommand {
    /// `template` with each `{name}` of `values` replaced by a reference to the variable `MODEL_SYNC_<NAME>`,
    /// and those variables with their values, to add to the command's environment.
    ///
    /// The shell expands the reference, and the result of an expansion is never read as code: a path with a
    /// space, a quote, `$`, a backtick or `;` runs nothing, wherever the placeholder stands. The reference is
    /// quoted for its place — unquoted it is `"${MODEL_SYNC_MODELS_DIR}"`, inside double quotes
    /// `${MODEL_SYNC_MODELS_DIR}`, inside single quotes the quote is closed around `"${…}"` — so that
    /// `test -d {models_dir}`, `test -d "{models_dir}"` and `echo '{models_dir}'` all receive the path whole.
    /// Where the scan misreads the quoting (inside `$(…)` or backticks) the value can at worst be split into
    /// words, never run.
    ///
    /// ```swift
    /// let (command, variables) = ShellCommand.filling("test -d {models_dir}", with: ["models_dir": "/srv/a b"])
    /// // command: test -d "${MODEL_SYNC_MODELS_DIR}"   variables: ["MODEL_SYNC_MODELS_DIR": "/srv/a b"]
    /// ```
    public static func filling(_ template: String, with values: [String: String])
        -> (command: String, environment: [String: String]) {
        var result = ""
        var used: [String: String] = [:]
        var quote: Character?
        var escaped = false
        var rest = Substring(template)
        while let character = rest.first {
            if character == "{", !escaped, let (name, value) = placeholder(at: rest, values) {
                let variable = variableName(for: name)
                used[variable] = value
                result += reference(to: variable, inside: quote)
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
        return (result, used)
    }

    /// `MODEL_SYNC_` and the placeholder's name in capitals: `models_dir` → `MODEL_SYNC_MODELS_DIR`.
    static func variableName(for placeholder: String) -> String {
        "MODEL_SYNC_" + placeholder.uppercased()
    }

    /// A reference to `variable` as it must be written at a place whose quoting is `quote` (nil: unquoted).
    static func reference(to variable: String, inside quote: Character?) -> String {
        switch quote {
        case "\"": return "${\(variable)}"
        case "'": return "'\"${\(variable)}\"'"
        default: return "\"${\(variable)}\""
        }
    }

    /// The placeholder `{name}` that `text` starts with, when `name` is one of `values`.
    private static func placeholder(at text: Substring, _ values: [String: String]) -> (String, String)? {
        guard let close = text.firstIndex(of: "}") else { return nil }
        let name = String(text[text.index(after: text.startIndex)..<close])
        return values[name].map { (name, $0) }
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
