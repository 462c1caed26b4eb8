/// `model_sync.activation`: checks and hooks around making a model set active.
public struct ActivationConfig: Sendable, Hashable {
    /// `health_check`: a shell command that must exit 0 with the new set active, else the old set returns.
    public var healthCheck: String?
    /// `health_timeout_sec` [120]: the health check's time limit.
    public var healthTimeoutSec: Double = 120
    /// `on_activate`: a shell command run after a successful activation (tell the bot to reload).
    public var onActivate: String?

    /// The defaults.
    public init() {}
}
