import Dispatch
import Foundation
import Synchronization

/// Runs blocking work (file I/O and hashing) on a bounded number of threads.
///
/// Hashing a file is blocking I/O; running it on Swift's cooperative pool (one thread per core) would
/// starve every other task, so it runs on `workers` Dispatch threads that pull items from a shared counter.
/// The first error stops the remaining items and is rethrown.
enum ParallelWork {
    /// The default worker count: the number of active cores (at least 1, at most 8).
    static var defaultWorkers: Int {
        if let forced = ProcessInfo.processInfo.environment["MODEL_SYNC_WORKERS"].flatMap(Int.init), forced > 0 { return forced }
        return min(8, max(1, ProcessInfo.processInfo.activeProcessorCount))
    }

    static func map<T: Sendable>(count: Int, workers: Int = defaultWorkers,
                                 _ body: @Sendable (Int) throws -> T) throws -> [T] {
        guard count > 0 else { return [] }
        let next = Atomic<Int>(0)
        let results = Locked<[T?]>(Array(repeating: nil, count: count))
        let failure = Locked<(any Error)?>(nil)
        let threads = min(workers, count)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                if failure.withLock({ $0 != nil }) { return }
                let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if item >= count { return }
                do {
                    let value = try body(item)
                    results.withLock { $0[item] = value }
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return results.withLock { $0.map { $0! } }
    }
}
