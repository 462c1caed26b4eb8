import Foundation

extension Daemon {
    /// Where the daemon keeps its state between runs.
    public struct StateAccess: Sendable {
        /// Reads the state once, when the loop starts.
        public var load: @Sendable () -> DaemonState
        /// Writes it after every run.
        public var save: @Sendable (DaemonState) -> Void
        /// The set `models_dir` points at, read at start and after every run for the metrics; nil when none
        /// (or unknown: the metrics then follow what the runs report).
        public var active: @Sendable () -> DaemonMetrics.ActiveSet?

        /// State kept wherever `load` and `save` say (tests keep it in memory).
        public init(load: @escaping @Sendable () -> DaemonState, save: @escaping @Sendable (DaemonState) -> Void,
                    active: @escaping @Sendable () -> DaemonMetrics.ActiveSet? = { nil }) {
            self.load = load
            self.save = save
            self.active = active
        }

        /// The state kept in the store at `storeDir` for `role`: read without the lock, written under it.
        ///
        /// The store lock is shared with one-shot commands, so the daemon takes it only to write. Neither side
        /// fails the loop: a store that cannot be read yet starts from an empty state, and a save that cannot
        /// take the lock is skipped (the next run saves again).
        public static func store(at storeDir: String, lockTimeout: Double, role: DaemonRole) -> StateAccess {
            StateAccess(
                load: { (try? Store.openForReading(at: storeDir).daemonState(role: role.rawValue)) ?? DaemonState() },
                save: { state in
                    if let store = try? Store.open(at: storeDir, lockTimeout: lockTimeout) {
                        try? store.saveDaemonState(state, role: role.rawValue)
                    }
                },
                active: {
                    guard let store = try? Store.openForReading(at: storeDir),
                          let record = try? store.generations().first(where: { $0.state == .active }) else { return nil }
                    // The release that named the set, if signatures are in use (any channel: registry or archive).
                    let release = (try? AcceptedReleases(storeRoot: FileSystem.absolute(storeDir)).all())?.values
                        .filter { $0.manifest == record.manifest }.compactMap { Date(rfc3339: $0.expires) }.max()
                    return DaemonMetrics.ActiveSet(generation: record.number, manifest: record.manifest, releaseExpires: release)
                })
        }
    }
}
