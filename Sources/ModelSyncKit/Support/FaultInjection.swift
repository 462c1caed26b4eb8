#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Named points where a debug build can kill itself, so tests can prove that a crash at any step of an
/// activation or an import leaves a consistent state. Compiled out of release builds.
///
/// `MODEL_SYNC_FAULT=<point>` kills the process with SIGKILL at that point; `<point>:<n>` at its n-th pass.
enum FaultInjection {
    #if DEBUG
    nonisolated(unsafe) private static var passes: [String: Int] = [:]
    private static let target: (name: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["MODEL_SYNC_FAULT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    #endif

    /// Kills the process here when the environment asks for it (debug builds only).
    @inline(__always)
    static func point(_ name: String) {
        #if DEBUG
        guard let target, target.name == name else { return }
        // Only the activating or importing thread passes fault points (never a worker), so the counter needs
        // no lock.
        passes[name, default: 0] += 1
        if passes[name] == target.count { kill(getpid(), SIGKILL) }
        #endif
    }
}
