/// A YAML document that libyaml cannot parse, or that has a shape the tree builder refuses (an unknown
/// alias, a non-scalar key, two documents, nesting too deep), with where it happened.
///
/// The YAML layer knows nothing of configuration: the configuration loader turns this into a
/// ``ConfigError`` with the same `file:line:column: reason` text.
public struct YAMLError: ModelSyncError {
    /// The source as the caller named it, for the message.
    public let file: String
    /// The 1-based line, when known.
    public let line: Int?
    /// The 1-based column, for syntax errors libyaml locates exactly.
    public let column: Int?
    /// What is wrong, without the location (libyaml's problem text for syntax errors).
    public let reason: String
    /// What the user can do about it.
    public let hint: String?

    /// A document the user wrote: exit code 2.
    public var category: ErrorCategory { .usage }

    /// `file:line[:column]: reason`.
    public var message: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return "\(location): \(reason)"
    }

    /// Makes an error located in `file`.
    public init(file: String, line: Int? = nil, column: Int? = nil, reason: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
        self.hint = hint
    }
}
