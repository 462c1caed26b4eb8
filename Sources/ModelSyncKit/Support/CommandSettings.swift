/// How configured commands (`publisher.train_command`, `activation.health_check`, `activation.on_activate`)
/// run: which secrets they may receive, and where their output goes.
///
/// The rule for secrets: a child inherits the process's own environment, except the variables in ``secrets``
/// (the `.env` values and the variables named by `runpod.api_key_env` and `git.token_env`), which it gets only
/// when its command line names them (`$NAME` or `${NAME}`).
public struct CommandSettings: Sendable {
    /// Variables a child receives only when its command names them; withheld otherwise, even when the process's
    /// own environment has them.
    public var secrets: [String: String]
    /// Called once per finished command with its output captured; nil lets the output go to our stderr as it
    /// comes (the command line's behaviour), which `--log-format json` cannot have.
    public var observer: (@Sendable (CommandReport) -> Void)?

    /// Settings with these secrets and this observer.
    public init(secrets: [String: String] = [:], observer: (@Sendable (CommandReport) -> Void)? = nil) {
        self.secrets = secrets
        self.observer = observer
    }
}

/// A configured command that ended, with the end of its output (secrets scrubbed).
public struct CommandReport: Sendable {
    /// Which configured command it was (`activation.health_check`).
    public let name: String
    /// The command line as run.
    public let command: String
    /// How it ended.
    public let outcome: ShellCommand.Outcome
    /// The last ``ShellCommand/capturedOutputLimit`` characters of its stdout.
    public let stdout: String
    /// The last ``ShellCommand/capturedOutputLimit`` characters of its stderr.
    public let stderr: String
}
