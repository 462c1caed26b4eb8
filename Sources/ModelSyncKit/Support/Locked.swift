import Foundation

/// A value shared between threads, guarded by a pthread mutex (`NSLock`).
///
/// The library uses it instead of `Synchronization.Mutex` wherever threads share memory: `Mutex` waits on a
/// futex, which ThreadSanitizer does not model, so the CI's TSan run reported accesses it guards as races.
///
/// `@unchecked Sendable`: every access to `value` goes through `lock`.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with the value, the lock held.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
