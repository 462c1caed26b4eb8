import Foundation

/// A job's state as `GET /status/{job_id}` reports it.
public struct RunPodJob: Sendable, Equatable {
    /// A job status. A struct, so statuses RunPod adds later are kept (and treated as still running).
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Waiting for a worker.
        public static let inQueue = Status(rawValue: "IN_QUEUE")
        /// A worker runs it.
        public static let inProgress = Status(rawValue: "IN_PROGRESS")
        /// Finished; `output` holds the handler's return value.
        public static let completed = Status(rawValue: "COMPLETED")
        /// The handler raised or returned an error; `error` says what.
        public static let failed = Status(rawValue: "FAILED")
        /// Cancelled through `/cancel`.
        public static let cancelled = Status(rawValue: "CANCELLED")
        /// RunPod's execution timeout stopped it.
        public static let timedOut = Status(rawValue: "TIMED_OUT")

        /// True for COMPLETED, FAILED, CANCELLED and TIMED_OUT; an unknown status counts as still running.
        public var isFinal: Bool { [.completed, .failed, .cancelled, .timedOut].contains(self) }
        public var description: String { rawValue }
    }

    /// The job id.
    public let id: String
    /// Its status.
    public let status: Status
    /// The handler's output, for COMPLETED jobs.
    public let output: JSONValue?
    /// The error text of a FAILED job: the SDK's JSON error (`error_message`) decoded to its message.
    public let error: String?

    /// Builds a job description.
    public init(id: String, status: Status, output: JSONValue? = nil, error: String? = nil) {
        self.id = id
        self.status = status
        self.output = output
        self.error = error
    }

    /// The message of a RunPod error field: the SDK sends a JSON string (`{"error_type", "error_message",
    /// "error_traceback"}`) or an object; a plain string is kept as is.
    static func errorText(_ value: JSONValue?) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            // Only an object carrying a message is unwrapped; any other JSON-looking text is kept verbatim.
            if let decoded = try? JSONValue.decode(Array(text.utf8)), case .object(let members) = decoded {
                for key in ["error_message", "message", "error"] {
                    if case .string(let message)? = members[key] { return message }
                }
            }
            return text
        case .object(let members)?:
            for key in ["error_message", "message", "error"] {
                if case .string(let text)? = members[key] { return text }
            }
            return value?.jsonString
        case let other?:
            return other.jsonString
        }
    }
}
