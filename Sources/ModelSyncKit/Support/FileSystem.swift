#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
import Foundation

/// Thin POSIX helpers that throw `IOError` with the path and `errno` captured at once.
///
/// Foundation's FileManager hides `errno` and cannot fsync; the store's durability rules need both.
enum FileSystem {
    /// `stat` (following symlinks); nil when the path does not exist.
    static func status(_ path: String) throws(IOError) -> stat? {
        var info = stat()
        if stat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw IOError.current("stat", path)
    }

    /// `lstat` (not following symlinks); nil when the path does not exist.
    static func linkStatus(_ path: String) throws(IOError) -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw IOError.current("lstat", path)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }
    static func isRegular(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }
    static func isSymlink(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFLNK }

    /// Whether `path` itself (not a link's target) is a regular file; false when it is gone or cannot be
    /// examined, as for a stat-cache row whose file was removed or replaced by a folder or a link.
    static func isRegularFile(at path: String) -> Bool {
        guard let info = try? linkStatus(path) else { return false }
        return isRegular(info)
    }

    /// Creates a directory and its parents (mode 0755); an existing directory is fine.
    static func makeDirectories(_ path: String) throws(IOError) {
        if let info = try status(path) {
            if isDirectory(info) { return }
            throw IOError(errno: ENOTDIR, operation: "mkdir", path: path)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw IOError.current("mkdir", path) }
    }

    /// Opens `path` with `flags`; the caller closes the descriptor.
    ///
    /// An open that may write (`O_WRONLY`, `O_RDWR`, `O_CREAT`) never follows a symbolic link at `path`
    /// (`O_NOFOLLOW`, failing with `ELOOP`): a link planted in the store must not redirect a write.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(IOError) -> Int32 {
        let writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT) != 0
        let descriptor = Glibc.open(path, flags | O_CLOEXEC | (writes ? O_NOFOLLOW : 0), mode)
        if descriptor < 0 { throw IOError.current("open", path) }
        return descriptor
    }

    /// Creates a new, uniquely named file in `directory` (`mkstemp`, mode 0600); the caller closes the
    /// descriptor and removes the file.
    static func createTemporaryFile(in directory: String, prefix: String) throws(IOError) -> (descriptor: Int32, path: String) {
        // mkstemp replaces the trailing X's of its template with a unique suffix.
        var template = Array((directory + "/" + prefix + "XXXXXX").utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw IOError.current("create a temporary file in", directory) }
        return (descriptor, String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// fsyncs a file or directory by path.
    static func sync(_ path: String, directory: Bool = false) throws(IOError) {
        let descriptor = try open(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
        defer { close(descriptor) }
        if fsync(descriptor) != 0 { throw IOError.current("fsync", path) }
    }

    /// Writes all of `buffer` to `descriptor`, retrying short writes and EINTR.
    static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(IOError) {
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw IOError.current("write", path)
            }
            offset += written
        }
    }

    /// Writes all of `bytes` to `descriptor`.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(IOError) {
        var failure: IOError?
        bytes.withUnsafeBytes { buffer in
            do throws(IOError) { try writeAll(descriptor, buffer, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `buffer.count` bytes, retrying EINTR; 0 at end of file.
    static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(IOError) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw IOError.current("read", path)
        }
    }

    /// Copies the rest of `input` to `output` (both at their current offsets). `copy_file_range(2)` lets the
    /// kernel copy without a round trip through user space; where it cannot (across filesystems on old
    /// kernels, special files), a read/write loop with one 1 MiB buffer takes over from where it stopped.
    static func copyContents(from input: Int32, to output: Int32, path: String) throws(IOError) {
        while true {
            let copied = CModelSyncSystem_copy_file_range(input, output, 1 << 30)
            if copied > 0 { continue }
            if copied == 0 { return }
            if errno == EINTR { continue }
            guard [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(errno) else { throw IOError.current("copy_file_range", path) }
            break
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = try read(input, into: buffer, path: path)
            if count == 0 { return }
            try writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: path)
        }
    }

    /// Writes `bytes` to `path` atomically and durably (``DurableFile``): a reader sees the old file or the
    /// new one, and after a crash the new one is there only if it is whole.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        try DurableFile.write(bytes, to: path, mode: mode)
    }

    /// Reads a whole (small) file.
    static func readAll(_ path: String) throws -> [UInt8] {
        let descriptor = try open(path, O_RDONLY)
        defer { close(descriptor) }
        var result: [UInt8] = []
        // Sized up front: growing by doubling would hold up to twice a large manifest while it is read.
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_size > 0 { result.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { buffer in try read(descriptor, into: buffer, path: path) }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// Directory entries (names), excluding `.` and `..`; empty when the directory does not exist.
    /// A name that is not UTF-8 comes back with U+FFFD in place of its bad bytes (``listRawNames(_:)``
    /// keeps them).
    static func list(_ path: String) throws(IOError) -> [String] {
        try listRawNames(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Directory entries as the bytes the filesystem holds, excluding `.` and `..`; empty when the
    /// directory does not exist.
    static func listRawNames(_ path: String) throws(IOError) -> [[UInt8]] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw IOError.current("opendir", path)
        }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    /// Removes a file, a symlink or a whole directory tree (making read-only directories writable first).
    /// Removes the file (not a directory) at a path given as raw bytes, which a name that is not UTF-8 needs.
    static func removeFile(rawPath: [UInt8]) throws(IOError) {
        let shown = String(decoding: rawPath, as: UTF8.self)
        let result = (rawPath + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { unlink($0) }
        }
        if result != 0 && errno != ENOENT { throw IOError.current("unlink", shown) }
    }

    static func removeTree(_ path: String) throws(IOError) {
        guard let info = try linkStatus(path) else { return }
        if isDirectory(info) {
            chmod(path, 0o755)
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw IOError.current("rmdir", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw IOError.current("unlink", path)
        }
    }

    /// The sizes of the regular files under `path`, or of `path` itself when it is one (not following links);
    /// what cannot be read counts as nothing.
    static func bytes(under path: String) -> UInt64 {
        guard let info = try? linkStatus(path) else { return 0 }
        if isRegular(info) { return UInt64(info.st_size) }
        guard isDirectory(info) else { return 0 }
        return ((try? list(path)) ?? []).reduce(0) { $0 + bytes(under: path + "/" + $1) }
    }

    /// Free bytes available to this user on the filesystem holding `path`.
    static func freeBytes(_ path: String) throws(IOError) -> UInt64 {
        var info = statvfs()
        if statvfs(path, &info) != 0 { throw IOError.current("statvfs", path) }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// `path` made absolute against the current directory, with `.` and `..` components resolved lexically.
    static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in base.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
