#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Another process holding a shared `flock` on a folder, as a pull holds its folder under
/// `<store>/incoming/`, until ``release()`` (SIGKILL).
public final class FolderLockHolder: @unchecked Sendable {
    // @unchecked: the process is only started in init and signalled afterwards.
    private let process = Process()

    /// Starts the holder and waits (up to 10 s) until it holds the lock.
    public init(_ folder: String) throws {
        // One process holds it to the end: the shell's descriptor, locked by flock(1), kept by `exec sleep`.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"exec 9<"$0" && flock --shared 9 && exec sleep 120"#, folder]
        try process.run()
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        // Held once an exclusive try fails.
        let deadline = Date().addingTimeInterval(10)
        while flock(descriptor, LOCK_EX | LOCK_NB) == 0, Date() < deadline {
            flock(descriptor, LOCK_UN)
            usleep(10_000)
        }
    }

    /// Ends the holder, and with it the lock.
    public func release() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { release() }

    /// The pid of a process that has exited (and was reaped), so `kill(pid, 0)` says ESRCH.
    public static func exitedProcessID() throws -> Int32 {
        for _ in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/true")
            try process.run()
            process.waitUntilExit()
            let pid = process.processIdentifier
            if kill(pid, 0) != 0 && errno == ESRCH { return pid }
        }
        throw RegistryStartError("no pid of an exited process stayed free")
    }
}
