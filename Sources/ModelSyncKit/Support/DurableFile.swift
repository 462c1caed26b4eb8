#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
import Foundation

/// A new file that appears at its final path only once its bytes are on disk.
///
/// Every writer of the project follows the same protocol, the object store's: a uniquely named temp file in
/// a given directory → write → `fchmod` → `fsync` → `rename(2)` (replace) or `link(2)` (keep an existing
/// file) into place → `fsync` the directory that gained the name. A crash at any point leaves either the old
/// state or the new one, plus at most a stray temp file; any failure removes the temp file, and so does
/// dropping the value without ``commit(to:mode:placement:createdParent:)``.
///
/// ```swift
/// let file = try DurableFile(in: directory, prefix: ".report-")
/// try file.write(bytes)
/// try file.commit(to: directory + "/report.json", mode: 0o644, placement: .replace)
/// ```
///
/// Confined to one task: it owns an open descriptor.
final class DurableFile {
    /// How the temp file takes its final name.
    enum Placement {
        /// `rename(2)`: whatever was at the target is replaced atomically.
        case replace
        /// `link(2)`: a file already at the target is kept untouched (content-addressed objects, where two
        /// writers racing for the same name hold the same bytes). Where the filesystem has no hard links,
        /// a rename that happens only when the target is still absent.
        case keepExisting
    }

    /// The temp file's path, in the directory given at creation.
    let temporaryPath: String
    /// The open temp file (read-write); -1 once committed or abandoned.
    private(set) var descriptor: Int32
    /// False once ``seal(mode:exactMode:)`` handed the temp file over: it is then the caller's to place or remove.
    private var ownsTemporaryFile = true

    /// Creates an empty temp file (`mkstemp`, mode 0600) named `<prefix>XXXXXX` in `directory`.
    init(in directory: String, prefix: String) throws(IOError) {
        let created = try FileSystem.createTemporaryFile(in: directory.isEmpty ? "." : directory, prefix: prefix)
        descriptor = created.descriptor
        temporaryPath = created.path
    }

    deinit { abandon() }

    /// Appends bytes, retrying short writes.
    func write(_ buffer: UnsafeRawBufferPointer) throws(IOError) {
        try FileSystem.writeAll(descriptor, buffer, path: temporaryPath)
        wrote(buffer.count)
    }

    /// Appends bytes.
    func write(_ bytes: [UInt8]) throws(IOError) {
        try FileSystem.writeAll(descriptor, bytes, path: temporaryPath)
        wrote(bytes.count)
    }

    /// Writes all of `buffer` at `offset` (`pwrite(2)`, retrying short writes and EINTR), leaving the file
    /// offset alone: for writers whose pieces arrive out of order (the segments of a download).
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        var done = 0
        while done < buffer.count {
            let count = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw IOError.current("write", temporaryPath)
            }
            done += count
        }
        wrote(buffer.count)
    }

    /// Dirty bytes above which their writeback starts (``wrote(_:)``).
    static let writebackStep = 8 << 20
    /// Bytes written since writeback last started.
    private var unstarted = 0

    /// Notes `count` bytes written to the temp file (here or by a caller through ``descriptor``) and, every
    /// ``writebackStep`` bytes, starts writing back the file's dirty pages without waiting for them
    /// (`sync_file_range(2)`, `SYNC_FILE_RANGE_WRITE`). The disk then writes while the writer produces the
    /// rest, so the fsync of a large file in ``commit(to:mode:placement:createdParent:exactMode:)`` finds
    /// little left to do, and a fast download does not pile up dirty pages. The fsync stays the only promise:
    /// an error here (or a filesystem without the call) is left for it to report.
    func wrote(_ count: Int) {
        unstarted += count
        guard unstarted >= Self.writebackStep, descriptor >= 0 else { return }
        unstarted = 0
        _ = CModelSyncSystem_start_writeback(descriptor, 0, 0)
    }

    /// Appends the rest of the file open on `input` (`copy_file_range(2)` where the kernel can).
    func copyContents(from input: Int32) throws(IOError) {
        try FileSystem.copyContents(from: input, to: descriptor, path: temporaryPath)
    }

    /// Makes the file durable and gives it its final name; returns false when `.keepExisting` found a file
    /// already there (the temp file is then discarded and the existing one left as it was).
    ///
    /// `mode` is narrowed by the process's umask, as `open(2)` would do, unless `exactMode` is set (store
    /// objects, whose 0444 `fsck` checks). `createdParent` says the caller
    /// has just created the target's directory: its own parent is then synced too, or the directory
    /// itself could vanish in a crash.
    @discardableResult
    func commit(to target: String, mode: mode_t, placement: Placement, createdParent: Bool = false,
                exactMode: Bool = false) throws(IOError) -> Bool {
        do throws(IOError) {
            guard descriptor >= 0 else { throw IOError(errno: EBADF, operation: "commit (already done)", path: target) }
            if fchmod(descriptor, exactMode ? mode : mode & ~processUmask) != 0 { throw IOError.current("chmod", temporaryPath) }
            if fsync(descriptor) != 0 { throw IOError.current("fsync", temporaryPath) }
            close(descriptor)
            descriptor = -1
            let created = try Self.place(temporaryPath, at: target, placement: placement)
            abandon()
            if created { try Self.syncParents(of: target, createdParent: createdParent) }
            return created
        } catch {
            abandon()
            throw error
        }
    }

    /// Closes and removes the temp file (after a commit, only the temp name goes: the target stays).
    func abandon() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if ownsTemporaryFile {
            unlink(temporaryPath)
            // Once only: the name may belong to another writer's new temp file by the next call.
            ownsTemporaryFile = false
        }
    }

    /// Sets the temp file's mode and closes it **without** syncing it, handing it over to the caller: the
    /// first half of a batched commit, whose caller makes many sealed files durable at once
    /// (``syncFilesystem(holding:path:)``), then places each (``place(_:at:placement:)``) and syncs the
    /// directories that gained a name. Returns the temp file's path; nothing removes it any more but the caller.
    func seal(mode: mode_t, exactMode: Bool = false) throws(IOError) -> String {
        do throws(IOError) {
            guard descriptor >= 0 else { throw IOError(errno: EBADF, operation: "seal (already done)", path: temporaryPath) }
            if fchmod(descriptor, exactMode ? mode : mode & ~processUmask) != 0 { throw IOError.current("chmod", temporaryPath) }
            let closing = descriptor
            descriptor = -1
            // close(2) can report a delayed write error (NFS): the file is not sealed then.
            if close(closing) != 0 && errno != EINTR { throw IOError.current("close", temporaryPath) }
            ownsTemporaryFile = false
            return temporaryPath
        } catch {
            abandon()
            throw error
        }
    }

    /// Writes back every dirty file of the filesystem that holds the open `descriptor` (`syncfs(2)`): one
    /// call makes a whole batch of sealed files durable, where an fsync each would cost a journal commit per
    /// file. Since Linux 5.8 it reports a writeback error that happened after `descriptor` was opened;
    /// before that it cannot, so there the caller must fsync each file instead
    /// (``filesystemSyncCovers(_:)``).
    static func syncFilesystem(holding descriptor: Int32, path: String) throws(IOError) {
        if CModelSyncSystem_syncfs(descriptor) != 0 { throw IOError.current("syncfs", path) }
    }

    /// True when one `syncfs(2)` on `descriptor` makes every file of its filesystem durable **and** says
    /// when it could not: Linux 5.8 or later (``filesystemSyncReportsErrors``) and a local filesystem whose
    /// `syncfs` writes back and commits everything (ext4, XFS, btrfs, F2FS, ZFS, tmpfs, overlayfs over one of
    /// these). Elsewhere (FUSE before it forwarded `syncfs`, network filesystems) an fsync of each file is the
    /// only promise.
    static func filesystemSyncCovers(_ descriptor: Int32) -> Bool {
        guard filesystemSyncReportsErrors else { return false }
        let trusted: Set<UInt> = [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010, 0x2FC1_2FC1, 0x0102_1994, 0x794C_7630]
        return trusted.contains(CModelSyncSystem_filesystem_type(descriptor))
    }

    /// True when `syncfs(2)` reports writeback errors (Linux 5.8 or later): read once from `uname(2)`.
    static let filesystemSyncReportsErrors: Bool = {
        var name = utsname()
        guard uname(&name) == 0 else { return false }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return (numbers[0], numbers[1]) >= (5, 8)
    }()

    /// Commits a temp file that another library wrote (libzip writes its archive itself): fsync, then
    /// place it and sync the directory. The temp file is removed on failure.
    static func commit(writtenFile temporaryPath: String, to target: String, placement: Placement) throws(IOError) {
        do throws(IOError) {
            try FileSystem.sync(temporaryPath)
            let created = try place(temporaryPath, at: target, placement: placement)
            unlink(temporaryPath)
            if created { try syncParents(of: target, createdParent: false) }
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    /// Gives an already durable file a second name (`link(2)`, an existing target kept), then syncs the
    /// directory; false when the target was already there.
    @discardableResult
    static func link(existing source: String, at target: String) throws(IOError) -> Bool {
        if Glibc.link(source, target) != 0 {
            if errno == EEXIST { return false }
            throw IOError.current("link", target)
        }
        try syncParents(of: target, createdParent: false)
        return true
    }

    /// Creates `directory` (mode 0755) when missing; true when this call created it (pass that on as
    /// `createdParent`).
    static func makeDirectory(_ directory: String) throws(IOError) -> Bool {
        if mkdir(directory, 0o755) == 0 { return true }
        if errno == EEXIST { return false }
        throw IOError.current("mkdir", directory)
    }

    /// Writes `bytes` to `target` in one call, replacing any file there.
    static func write(_ bytes: [UInt8], to target: String, mode: mode_t = 0o644) throws(IOError) {
        let file = try DurableFile(in: (target as NSString).deletingLastPathComponent,
                                   prefix: "." + (target as NSString).lastPathComponent + ".tmp-")
        try file.write(bytes)
        try file.commit(to: target, mode: mode, placement: .replace)
    }

    /// The rename or link step; false when `.keepExisting` met an existing target (the temp file stays: the
    /// caller removes it). Syncs nothing: see ``commit(to:mode:placement:createdParent:exactMode:)``.
    static func place(_ temporary: String, at target: String, placement: Placement) throws(IOError) -> Bool {
        switch placement {
        case .replace:
            if rename(temporary, target) != 0 { throw IOError.current("rename", target) }
            return true
        case .keepExisting:
            if Glibc.link(temporary, target) == 0 { return true }
            let failure = IOError.current("link", target)
            if failure.errno == EEXIST { return false }
            // Filesystems without hard links (vfat, some FUSE mounts) answer EPERM or EOPNOTSUPP.
            guard [EPERM, EOPNOTSUPP, ENOSYS].contains(failure.errno) else { throw failure }
            if FileSystem.exists(target) { return false }
            if rename(temporary, target) != 0 { throw IOError.current("rename", target) }
            return true
        }
    }

    /// fsyncs the directory that gained `target`, and its parent when that directory is new; returns the
    /// directories synced, in order.
    @discardableResult
    static func syncParents(of target: String, createdParent: Bool) throws(IOError) -> [String] {
        let directory = parent(of: target)
        try FileSystem.sync(directory, directory: true)
        guard createdParent else { return [directory] }
        try FileSystem.sync(parent(of: directory), directory: true)
        return [directory, parent(of: directory)]
    }

    private static func parent(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }
}

@available(*, unavailable)
extension DurableFile: Sendable {}

/// The process's file-creation mask, read once from `/proc/self/status` (`umask(2)` can only be read by
/// setting it, which would race with other threads); 022 when the line is missing (kernels before 4.7).
let processUmask: mode_t = {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
          let value = mode_t(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8) else {
        return 0o022
    }
    return value
}()
