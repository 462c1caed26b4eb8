import Foundation

/// Runs network transfers on `count` dedicated threads, each taking the next item until none is left.
///
/// Real threads rather than `DispatchQueue.concurrentPerform`, which runs at most one iteration per core:
/// transfers wait on the network, so N of them must be in flight whatever the machine. The first error
/// raises ``isCancelled`` (running transfers poll it and stop), no new item starts, and it is rethrown once
/// every thread has finished.
final class TransferWorkers: Sendable {
    private let failure = Locked<(any Error)?>(nil)

    /// True once an item failed: transfers still running should stop.
    var isCancelled: Bool { failure.withLock { $0 != nil } }

    /// Runs `body` for every item on up to `count` threads and returns when all are done.
    func run<Item: Sendable>(_ items: [Item], threads count: Int, _ body: @escaping @Sendable (Item) throws -> Void) throws {
        guard !items.isEmpty else { return }
        let next = Locked(0)
        let finished = DispatchGroup()
        for _ in 0..<max(1, min(count, items.count)) {
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                while !isCancelled {
                    let index = next.withLock { value -> Int in
                        defer { value += 1 }
                        return value
                    }
                    guard index < items.count else { return }
                    do {
                        try body(items[index])
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                    }
                }
            }
            thread.start()
        }
        finished.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
