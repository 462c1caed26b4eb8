/// A configuration problem: invalid YAML, an unknown key, a value of the wrong type or range, an undefined
/// variable, an unreadable `.env` line. The message names the file, the line and the dotted key.
///
/// Messages never contain a value read from the environment or a `.env` file: those may be secrets.
public struct ConfigError: ModelSyncError {
    /// Which configuration rule failed.
    public struct Code: Hashable, Sendable {
        /// The code's stable name.
        public let rawValue: String
        /// Makes a code from its name.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The file could not be read.
        public static let unreadableFile = Code("unreadable-file")
        /// The file is not valid YAML (libyaml's problem text is in the message).
        public static let invalidYAML = Code("invalid-yaml")
        /// The file has no `model_sync:` section.
        public static let missingSection = Code("missing-section")
        /// A key that model-sync does not know.
        public static let unknownKey = Code("unknown-key")
        /// A key given twice in one mapping.
        public static let duplicateKey = Code("duplicate-key")
        /// A value of the wrong type or out of range.
        public static let invalidValue = Code("invalid-value")
        /// A key that is required in this context is missing.
        public static let missingValue = Code("missing-value")
        /// A `${VAR}` reference to a variable that is not set and has no default.
        public static let undefinedVariable = Code("undefined-variable")
        /// A malformed line in a `.env` file.
        public static let invalidDotEnv = Code("invalid-dotenv")
    }

    /// Which rule failed.
    public let code: Code
    /// The configuration or `.env` file, as the user named it.
    public let file: String?
    /// The 1-based line in `file`, when known.
    public let line: Int?
    /// The 1-based column in `file`, for YAML syntax errors.
    public let column: Int?
    /// The dotted key the problem is about (`model_sync.runpod.poll_interval_sec`), when there is one.
    public let key: String?
    /// What is wrong, without the location.
    public let reason: String
    /// What the user can do about it.
    public let hint: String?

    /// Configuration problems are the user's to fix: exit code 2.
    public var category: ErrorCategory { .usage }

    /// `file:line[:column]: key: reason`, each part present when known
    /// (`file:line: unknown key model_sync.x` for an unknown key).
    public var message: String {
        var location = ""
        if let file {
            location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
        }
        var parts: [String] = []
        if !location.isEmpty { parts.append(location) }
        if code == .unknownKey, let key {
            // Reads better as one phrase: "unknown key model_sync.runpod.trigger_ur".
            parts.append("\(reason) \(key)")
        } else {
            if let key { parts.append(key) }
            parts.append(reason)
        }
        return parts.joined(separator: ": ")
    }

    /// Makes an error; `message` composes the location, the key and the reason.
    public init(
        _ code: Code, file: String?, line: Int? = nil, column: Int? = nil, key: String? = nil,
        reason: String, hint: String? = nil
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.reason = reason
        self.hint = hint
    }
}

extension ConfigError {
    /// A YAML error as a configuration error (code `invalid-yaml`), with the same file, line, column, reason
    /// and hint, so its message reads `file:line:column: reason` as before.
    public init(_ yaml: YAMLError) {
        self.init(.invalidYAML, file: yaml.file, line: yaml.line, column: yaml.column, reason: yaml.reason,
                  hint: yaml.hint)
    }
}
