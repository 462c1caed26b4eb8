import Foundation

/// The bytes of one blob reported to ``OutgoingBlobs``, so an attempt that starts over (or resumes at the
/// registry's offset) takes back what it had counted.
final class OCIUploadProgress: Sendable {
    private let outgoing: OutgoingBlobs
    private let reported = Locked<UInt64>(0)

    init(_ outgoing: OutgoingBlobs) {
        self.outgoing = outgoing
    }

    /// The bytes counted so far.
    var counted: UInt64 { reported.withLock { $0 } }

    /// Counts `count` more bytes (negative to take some back).
    func add(_ count: Int64) {
        reported.withLock { $0 = UInt64(max(0, Int64($0) + count)) }
        outgoing.sent(count)
    }

    /// Sets the count to `value`, reporting the difference.
    func set(_ value: UInt64) {
        let delta = reported.withLock { current -> Int64 in
            defer { current = value }
            return Int64(value) - Int64(current)
        }
        if delta != 0 { outgoing.sent(delta) }
    }
}
