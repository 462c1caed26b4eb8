#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// The store's single-writer lock: `flock` on `<store>/lock`, which holds the owner's pid.
///
/// Released when the object is deallocated or the process dies (the kernel drops a flock with its descriptor).
public final class StoreLock {
    private let descriptor: Int32
    public let path: String
    /// True for a reader's shared lock (`init(sharedAt:timeout:)`): it keeps writers out and never writes.
    private let shared: Bool

    /// Waits up to `timeout` seconds for the lock, then throws a `BusyError` naming the holder's pid.
    ///
    /// The lock file is opened without following a symbolic link and must be a regular file: the pid is
    /// written into it, and a link planted at `<store>/lock` must not make model-sync overwrite its target.
    public init(path: String, timeout: Double) throws {
        self.path = path
        let descriptor = try Self.openLockFile(path)
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let failure = IOError.current("flock", path)
                close(descriptor)
                throw failure
            }
            if Date() >= deadline {
                let holder = StoreLock.holder(descriptor)
                close(descriptor)
                throw BusyError(lockPath: path, holderPID: holder, waited: timeout)
            }
            usleep(50_000)
        }
        self.descriptor = descriptor
        self.shared = false
        let text = Array("\(getpid())\n".utf8)
        ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// A reader's shared lock, for the moment it must see no writer's work in flight: waits up to `timeout`
    /// seconds for the writer to finish. Needs only read access to the lock file; nil when there is none, it
    /// cannot be read, or a writer held the lock throughout.
    public init?(sharedAt path: String, timeout: Double) {
        guard let descriptor = try? FileSystem.open(path, O_RDONLY) else { return nil }
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while flock(descriptor, LOCK_SH | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(descriptor)
                return nil
            }
            usleep(50_000)
        }
        self.descriptor = descriptor
        self.path = path
        self.shared = true
    }

    deinit {
        if !shared { ftruncate(descriptor, 0) }
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// `open(O_RDWR | O_CREAT | O_NOFOLLOW)`, then a check that what was opened is a regular file.
    private static func openLockFile(_ path: String) throws -> Int32 {
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            let failure = IOError.current("open", path)
            guard failure.errno == ELOOP else { throw failure }
            throw UsageError("the store lock \(path) is a symbolic link: model-sync writes its pid there and "
                             + "does not follow links", hint: "remove \(path); model-sync creates it again")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, FileSystem.isRegular(info) else {
            close(descriptor)
            throw UsageError("the store lock \(path) is not a regular file",
                             hint: "remove \(path); model-sync creates it again")
        }
        return descriptor
    }

    private static func holder(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

@available(*, unavailable)
extension StoreLock: Sendable {}

/// Another process holds the store lock.
public struct BusyError: ModelSyncError {
    public let lockPath: String
    public let holderPID: Int32?
    public let waited: Double

    public var category: ErrorCategory { .busy }
    public var message: String {
        let who = holderPID.map { "pid \($0)" } ?? "another process"
        // `<store>/registry.lock` serializes the commands that fetch or push the registry, not the store.
        let what = lockPath.hasSuffix("/registry.lock") ? "another publish or pull is using the registry" : "the store is busy"
        return "\(what): \(lockPath) is held by \(who) (waited \(Int(waited)) s)"
    }
    public var hint: String? { "wait for the other model-sync to finish, or raise lock_timeout_sec" }
}
