internal import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// An anonymous in-memory file (`memfd_create`) with a path, for code that only reads by path.
///
/// One per process, rewritten for each input: no disk, no file left behind when the fuzzer stops.
public final class MemoryFile {
    private let descriptor: CInt

    /// A path that opens this file (`/proc/self/fd/N`), valid while the process lives.
    public let path: String

    /// Creates the file; stops the process when the kernel refuses, since no input could then be tried.
    public init(name: String) {
        descriptor = CLibFuzzer_memfd_create(name)
        invariant(descriptor >= 0, "memfd_create failed: errno \(errno)")
        path = "/proc/self/fd/\(descriptor)"
    }

    deinit {
        close(descriptor)
    }

    /// Replaces the file's contents with `bytes`.
    public func write(_ bytes: [UInt8]) {
        invariant(ftruncate(descriptor, 0) == 0, "ftruncate failed: errno \(errno)")
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        invariant(written == bytes.count, "pwrite wrote \(written) of \(bytes.count) bytes: errno \(errno)")
    }
}
