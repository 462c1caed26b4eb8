/// How a running daemon takes a new configuration (SIGHUP): the signal only asks, and the loop re-reads the
/// YAML file and `.env` between runs, never during one.
public struct DaemonReload: Sendable {
    /// One run of the role's job; it reports what happens inside the run through the context.
    public typealias Job = @Sendable (DaemonRunContext) throws -> DaemonRunOutcome

    /// True once for each reload request since the last call.
    public var requested: @Sendable () -> Bool
    /// Reads the configuration again and checks it as at start: the daemon and job to continue with. A throw
    /// keeps the old ones.
    public var load: @Sendable () throws -> (Daemon, Job)

    /// A reload that asks `requested` and re-reads with `load`.
    public init(requested: @escaping @Sendable () -> Bool, load: @escaping @Sendable () throws -> (Daemon, Job)) {
        self.requested = requested
        self.load = load
    }
}
