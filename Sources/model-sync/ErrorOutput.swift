import ModelSyncKit

/// `{"error": {"message", "hint", "category", "exit_code"}}`: what a failed command prints on stdout with `--json`.
struct ErrorOutput: Encodable {
    struct Details: Encodable {
        let message: String
        @Nullable var hint: String?
        let category: String
        let exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case message, hint, category
            case exitCode = "exit_code"
        }
    }

    let error: Details

    /// The error's fields, secrets scrubbed.
    init(_ error: any ModelSyncError) {
        let scrubber = SecretScrubber.shared
        self.error = Details(message: scrubber.scrub(error.message), hint: error.hint.map(scrubber.scrub),
                             category: error.category.name,
                             exitCode: error.category.exitCode)
    }
}
