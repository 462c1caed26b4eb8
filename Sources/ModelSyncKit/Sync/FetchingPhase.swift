import Foundation

/// One `fetching` phase for a pull whose blobs arrive in two steps: downloaded into `<store>/incoming/` before
/// the store lock (Git LFS objects, OCI blobs), then stored under it, where the engine counts the staged blobs
/// again as it links them in, from zero. The user sees the bytes once: `fetching` only ever grows, against the
/// largest total either step announced, and repeats nothing. Other phases pass through untouched.
final class FetchingPhase: Sendable {
    private let forward: ProgressHandler
    /// The last `fetching` event forwarded; forwarding happens under this lock, so events from several
    /// transfer threads reach the handler in the order they were decided.
    private let last = Locked<Progress?>(nil)

    private init(_ forward: @escaping ProgressHandler) {
        self.forward = forward
    }

    /// `progress` with its `fetching` events made one monotonic phase; nil when there is no handler.
    static func monotonic(_ progress: ProgressHandler?) -> ProgressHandler? {
        guard let progress else { return nil }
        let phase = FetchingPhase(progress)
        return { phase.report($0) }
    }

    private func report(_ event: Progress) {
        guard event.phase == Self.name else { return forward(event) }
        last.withLock { last in
            let total = max(last?.total ?? 0, event.total ?? 0)
            let completed = min(max(last?.completed ?? 0, event.completed), total)
            let next = Progress(phase: Self.name, completed: completed, total: total, unit: event.unit)
            guard next != last else { return }
            last = next
            forward(next)
        }
    }

    /// The phase's name, as ``BlobSink`` reports it.
    static let name = "fetching"
}
