#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Writes one manifest entry's file into a generation directory from the store.
///
/// Hard links share the object's inode, so they are read-only like the object (0444 at most). An executable
/// entry cannot share that inode without losing its execute bit, so it is always copied, readable and
/// executable by the same people as its object (0555 at most, see ``StorePermissions``).
struct Materializer: Sendable {
    let objects: ObjectStore
    let mode: LinkMode

    /// Creates `target` (which must not exist) with the content of `entry`.
    /// Refuses (``IntegrityError``, size mismatch) an object whose size is not the entry's: a generation never
    /// holds a file of another size than its manifest lists.
    func materialize(_ entry: ManifestEntry, at target: String) throws {
        let source = objects.path(of: entry.digest)
        try objects.checkSize(of: entry)
        if entry.mode == .regular && (mode == .auto || mode == .hardlink) {
            if link(source, target) == 0 { return }
            let failure = IOError.current("link", target)
            if mode == .hardlink || !(failure.errno == EXDEV || failure.errno == EPERM || failure.errno == EMLINK) {
                throw failure
            }
        }
        try copy(from: source, to: target, executable: entry.mode == .executable, tryClone: mode == .reflink)
    }

    private func copy(from source: String, to target: String, executable: Bool, tryClone: Bool) throws {
        let input = try FileSystem.open(source, O_RDONLY)
        defer { close(input) }
        let output = try FileSystem.open(target, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        var closed = false
        defer { if !closed { close(output) } }
        // FICLONE = _IOW(0x94, 9, int): share extents on btrfs/xfs; any failure falls back to a copy.
        let ficlone: UInt = 0x4004_9409
        if !(tryClone && ioctl(output, ficlone, input) == 0) {
            try FileSystem.copyContents(from: input, to: output, path: target)
        }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw IOError.current("stat", source) }
        let mode = StorePermissions.copyMode(objectMode: info.st_mode, executable: executable)
        if fchmod(output, mode) != 0 { throw IOError.current("chmod", target) }
        if fsync(output) != 0 { throw IOError.current("fsync", target) }
        closed = true
        if close(output) != 0 { throw IOError.current("close", target) }
    }
}
