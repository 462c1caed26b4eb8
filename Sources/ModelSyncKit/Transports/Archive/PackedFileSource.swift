#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// One blob of a delta archive, read from the models folder while the archive is written and hashed on the
/// way in: the bytes that reach the archive must hash to the digest the manifest lists, or the archive is
/// refused. A file rewritten between the hashing pass and the write (a training job still saving) would
/// otherwise give an archive whose entry does not match its name, reported as a success.
final class PackedFileSource: ZipEntrySource {
    let path: String
    let digest: Digest
    let size: UInt64
    /// Called once after the first chunk is read (tests rewrite the file there).
    private let afterFirstRead: (@Sendable (String) -> Void)?
    private var descriptor: Int32 = -1
    private var hasher = SHA256()
    private var read: UInt64 = 0

    init(path: String, digest: Digest, size: UInt64, afterFirstRead: (@Sendable (String) -> Void)? = nil) {
        self.path = path
        self.digest = digest
        self.size = size
        self.afterFirstRead = afterFirstRead
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    func open() throws {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = try FileSystem.open(path, O_RDONLY)
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        hasher = SHA256()
        read = 0
    }

    /// The largest read: libzip may offer a buffer as large as the entry, and one read of a whole file
    /// would leave nothing between the hashing and the writing for a test to rewrite.
    static let chunkSize = 1 << 20

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, Self.chunkSize)])
        let count = try FileSystem.read(descriptor, into: piece, path: path)
        if read == 0, count > 0 { afterFirstRead?(path) }
        read += UInt64(count)
        if read > size { throw changed("it grew past the \(size) bytes it had when it was hashed") }
        if count == 0, read < size { throw changed("\(read) bytes were read, \(size) were hashed") }
        hasher.update(UnsafeRawBufferPointer(rebasing: piece[0..<count]))
        // Checked as the last byte is handed over, not at close: libzip stops reading at the size it was
        // told, and does not fail the archive for an error at close.
        if read == size, count > 0 || size == 0 {
            let written = hasher.finalize()
            hasher = SHA256()
            guard written == digest else { throw changed("the bytes written hash to \(written), not \(digest)") }
        }
        return count
    }

    func close() throws {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private func changed(_ detail: String) -> UsageError {
        UsageError("\(path) changed while it was being packed: \(detail); no archive was written",
                   hint: "pack again once the training command has finished writing")
    }
}

@available(*, unavailable)
extension PackedFileSource: Sendable {}
