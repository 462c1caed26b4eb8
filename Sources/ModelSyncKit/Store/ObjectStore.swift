#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
import Foundation

/// The content-addressed files of a store: `objects/sha256/ab/<hex>`, read-only, never rewritten.
///
/// Every write follows one protocol: temp file in `tmp/` → hash while writing → fsync → verify →
/// `link(2)` into `objects/` (fails harmlessly if another process got there first) → fsync the directory.
/// Many small objects take the same steps a batch at a time (``ObjectBatch``: one `syncfs(2)` for all their
/// temp files, then their links, then one fsync per fan-out directory). Nothing enters `objects/`
/// unverified or before its bytes are on disk. Stateless apart from its paths, so it is `Sendable`.
public struct ObjectStore: Sendable {
    /// The size of each read and write: large enough for OpenSSL to run at full speed, small enough to keep
    /// memory constant whatever the file size.
    static let chunkSize = 1 << 20

    public let layout: StoreLayout

    public init(layout: StoreLayout) { self.layout = layout }

    /// What an insert did.
    public struct Insertion: Sendable, Equatable {
        public let digest: Digest
        public let size: UInt64
        /// False when the object was already there.
        public let created: Bool
    }

    /// Creates `objects/`, `tmp/` and `generations/` when missing.
    public func prepare() throws(IOError) {
        try FileSystem.makeDirectories(layout.objects + "/sha256")
        try FileSystem.makeDirectories(layout.tmp)
        try FileSystem.makeDirectories(layout.generations)
    }

    /// True when the object file exists.
    public func contains(_ digest: Digest) -> Bool {
        FileSystem.exists(layout.objectPath(digest))
    }

    /// The object's path.
    public func path(of digest: Digest) -> String { layout.objectPath(digest) }

    /// Copies the file at `path` into the store, hashing while copying.
    ///
    /// With `expected`, the bytes must hash to it (else `IntegrityError`, nothing stored).
    ///
    /// `copied` receives the size of each chunk as it is stored (for progress on large files).
    public func insert(fileAt path: String, expected: Digest? = nil,
                       copied report: ((UInt64) -> Void)? = nil) throws -> Insertion {
        let writer = try ObjectWriter(store: self)
        do {
            try fill(writer, fromFileAt: path, copied: report)
            return try writer.commit(expected: expected)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Copies the file at `path` into `writer` (not yet committed), hashing while copying, and gives the
    /// writer the mode the object will have. Shared by ``insert(fileAt:expected:copied:)`` and
    /// ``ObjectBatch/stage(fileAt:copied:)``.
    func fill(_ writer: ObjectWriter, fromFileAt path: String, copied report: ((UInt64) -> Void)?) throws {
        let source = try FileSystem.open(path, O_RDONLY)
        defer { close(source) }
        var info = stat()
        if fstat(source, &info) == 0 {
            // An object is no more readable than its source was (StorePermissions).
            writer.mode = StorePermissions.objectMode(sourceAccess: StorePermissions.readAccess(ofFileAt: path, mode: info.st_mode))
            // Read-ahead advice is worth its system call only for files larger than one read.
            if info.st_size > ObjectStore.chunkSize { _ = posix_fadvise(source, 0, 0, POSIX_FADV_SEQUENTIAL) }
        }
        // The kernel copies (copy_file_range: no round trip through user space) and the writer hashes
        // what landed in the temp file, read back from the page cache: the digest is that of the bytes
        // stored, whatever the source does meanwhile.
        while true {
            let before = writer.size
            switch try writer.copy(from: source, path: path) {
            case .copied: report?(writer.size - before)
            case .finished: return
            case .unsupported:
                try copyByReading(source, path: path, into: writer)
                report?(writer.size)
                return
            }
        }
    }

    private func copyByReading(_ source: Int32, path: String, into writer: ObjectWriter) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ObjectStore.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = try FileSystem.read(source, into: buffer, path: path)
            if count == 0 { return }
            try writer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Stores a small byte buffer (a manifest).
    public func insert(bytes: [UInt8], expected: Digest? = nil) throws -> Insertion {
        try insert(bytes: bytes, expected: expected, mode: nil)
    }

    /// Stores a small byte buffer with `mode` when given (else ``StorePermissions/objectMode(sourceAccess:)``).
    func insert(bytes: [UInt8], expected: Digest?, mode: mode_t?) throws -> Insertion {
        let writer = try ObjectWriter(store: self)
        if let mode { writer.mode = mode }
        do {
            try bytes.withUnsafeBytes { try writer.write($0) }
            return try writer.commit(expected: expected)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Stores `manifest`'s canonical bytes as its object with `mode`, written a piece at a time (a manifest
    /// built without its bytes is never encoded whole).
    func insert(manifest: Manifest, mode: mode_t) throws -> Insertion {
        let writer = try ObjectWriter(store: self)
        writer.mode = mode
        do {
            try manifest.writeCanonicalBytes { try writer.write($0) }
            return try writer.commit(expected: manifest.digest)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// The mode of the least readable object `manifest` lists (read bits only, the owner's kept): what its
    /// manifest object may show. Objects not in the store do not narrow it.
    func narrowestMode(of manifest: Manifest) -> mode_t {
        var mode = StorePermissions.objectMode()
        // No set of the digests seen: for a large manifest it took megabytes at an import's peak, and looking
        // up an object twice costs less than remembering every one.
        for entry in manifest.files {
            var info = stat()
            if lstat(path(of: entry.digest), &info) == 0 { mode &= info.st_mode | 0o400 }
        }
        return mode & StorePermissions.objectBase
    }

    /// Hashes a file without storing it, in constant memory; returns its digest and size. `report` gets the
    /// bytes of each read.
    public static func hashFile(at path: String, read report: ((UInt64) -> Void)? = nil)
        throws(IOError) -> (digest: Digest, size: UInt64) {
        let descriptor = try FileSystem.open(path, O_RDONLY)
        defer { close(descriptor) }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        let hasher = SHA256()
        var size: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = try FileSystem.read(descriptor, into: buffer, path: path)
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            size += UInt64(count)
            report?(UInt64(count))
        }
        return (hasher.finalize(), size)
    }

    /// Reads a whole object into memory (manifests only: they are small).
    public func readSmallObject(_ digest: Digest, limit: Int = 256 << 20) throws -> [UInt8] {
        let path = layout.objectPath(digest)
        guard let info = try FileSystem.status(path) else {
            throw IntegrityError(.missingObject, "object \(digest) is missing from the store",
                                 hint: "run `model-sync fsck` to check the store")
        }
        guard Int(info.st_size) <= limit else {
            throw IntegrityError(.invalidManifest, "object \(digest) is too large to be a manifest (\(info.st_size) bytes)")
        }
        let bytes = try FileSystem.readAll(path)
        guard SHA256.hash(bytes) == digest else {
            throw IntegrityError(.digestMismatch, "object \(digest) is corrupt: its content does not match its name",
                                 hint: "run `model-sync fsck --repair`, then pull again")
        }
        return bytes
    }

    /// Every object file's digest and path under `objects/` (names that are not digests are returned in `strays`).
    public func enumerate() throws(IOError) -> (objects: [Digest], strays: [String]) {
        var digests: [Digest] = []
        var strays: [String] = []
        let root = layout.objects + "/sha256"
        for fanout in try FileSystem.list(root).sorted() {
            let directory = root + "/" + fanout
            guard let info = try FileSystem.linkStatus(directory), FileSystem.isDirectory(info) else {
                strays.append(directory)
                continue
            }
            for name in try FileSystem.list(directory).sorted() {
                if Digest.isHex64(Substring(name)), name.hasPrefix(fanout), fanout.count == 2,
                   let digest = try? Digest(parsing: Digest.prefix + name) {
                    digests.append(digest)
                } else {
                    strays.append(directory + "/" + name)
                }
            }
        }
        return (digests, strays)
    }

    /// True when at least one file sits under `objects/sha256/` (stops at the first one found).
    func hasAnyObjectFile() throws(IOError) -> Bool {
        let root = layout.objects + "/sha256"
        for fanout in try FileSystem.list(root) {
            let directory = root + "/" + fanout
            guard let info = try FileSystem.linkStatus(directory), FileSystem.isDirectory(info) else { continue }
            if !(try FileSystem.list(directory)).isEmpty { return true }
        }
        return false
    }

    /// Removes the temp files in `tmp/` that object writers of processes no longer running left behind
    /// (`obj-<pid>-…`: a writer killed before it named its object). A live writer's files, and files of
    /// other kinds, are left to it and to `fsck --repair` or `gc`. Best effort: a file that cannot be
    /// removed is left as it was.
    func removeAbandonedTemporaryFiles() {
        guard let names = try? FileSystem.list(layout.tmp) else { return }
        let own = getpid()
        for name in names where name.hasPrefix("obj-") {
            guard let pid = name.dropFirst("obj-".count).split(separator: "-").first.flatMap({ pid_t($0) }),
                  pid > 0, pid != own else { continue }
            // ESRCH: no such process. EPERM means one is running under another user: it is left alone.
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(layout.tmp + "/" + name) }
        }
    }

    /// Removes an object file (gc); its fan-out directory stays.
    public func remove(_ digest: Digest) throws(IOError) {
        let path = layout.objectPath(digest)
        if unlink(path) != 0 && errno != ENOENT { throw IOError.current("unlink", path) }
    }

    /// Moves an object to `quarantine/<hex>` (fsck --repair on a corrupt object).
    public func quarantine(_ digest: Digest) throws(IOError) {
        try FileSystem.makeDirectories(layout.quarantine)
        let target = layout.quarantine + "/" + digest.hex + "-\(Int(Date().timeIntervalSince1970))"
        if rename(layout.objectPath(digest), target) != 0 { throw IOError.current("rename", layout.objectPath(digest)) }
    }
}

/// Streams bytes into a new object: temp file, hash while writing, then `commit` verifies and links it in.
///
/// The temp file and the final link are a ``DurableFile`` (the project's one write protocol): read-only
/// (0444 at most, see ``StorePermissions``),
/// fsync, `link(2)` so an object already in the store is never rewritten, fsync of the fan-out directory.
/// Confined to one task; `abandon` (or a failed `commit`) removes the temp file.
public final class ObjectWriter {
    private let store: ObjectStore
    private let file: DurableFile
    private let hasher = SHA256()
    /// The bytes written so far.
    public private(set) var size: UInt64 = 0
    /// The new object's mode: 0444 narrowed by the umask, and by its source's readers when copied from a file.
    var mode: mode_t = StorePermissions.objectMode()
    private var readBackBuffer: UnsafeMutableRawBufferPointer?

    /// A new, empty object in the store's `tmp/`.
    public init(store: ObjectStore) throws(IOError) {
        self.store = store
        file = try DurableFile(in: store.layout.tmp, prefix: "obj-\(getpid())-")
    }

    deinit {
        readBackBuffer?.deallocate()
    }

    /// Appends bytes.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(IOError) {
        hasher.update(buffer)
        try file.write(buffer)
        size += UInt64(buffer.count)
    }

    /// Writes `buffer` at `offset` of the temp file without hashing it: the segments of a download arrive
    /// in any order; ``commitHashingBack(size:expected:)`` hashes the file once it is complete.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        try file.write(buffer, at: offset)
    }

    /// Hashes the `size` bytes written with ``write(_:at:)``, read back once (page cache), then commits
    /// as ``commit(expected:expectedSize:)`` does: nothing unverified gets the object's name.
    func commitHashingBack(size total: UInt64, expected: Digest) throws -> ObjectStore.Insertion {
        precondition(size == 0, "positional writes only")
        do {
            try hashBack(count: Int(total))
        } catch {
            abandon()
            throw error
        }
        size = total
        return try commit(expected: expected, expectedSize: total)
    }

    /// The outcome of one `copy(from:path:)` step.
    enum CopyStep { case copied, finished, unsupported }

    /// Copies the next chunk of `source` into the object with `copy_file_range(2)`, then hashes the copied
    /// range read back from the temp file. `.unsupported` (only before any byte was copied) asks the caller
    /// to fall back to reading and writing.
    func copy(from source: Int32, path: String) throws(IOError) -> CopyStep {
        let copied = CModelSyncSystem_copy_file_range(source, file.descriptor, ObjectStore.chunkSize * 8)
        if copied < 0 {
            let failure = IOError.current("copy_file_range", path)
            if size == 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(failure.errno) { return .unsupported }
            if failure.errno == EINTR { return .copied }
            throw failure
        }
        if copied == 0 { return .finished }
        file.wrote(copied)
        try hashBack(count: copied)
        size += UInt64(copied)
        return .copied
    }

    /// Hashes the `count` bytes just copied past `size`, read back from the temp file (page cache).
    private func hashBack(count copied: Int) throws(IOError) {
        // Sized to what was copied, up to one chunk: a small file (most of a folder of many) costs a small
        // buffer, not a 1 MiB mapping.
        let wanted = min(ObjectStore.chunkSize, (copied + 4095) & ~4095)
        if let buffer = readBackBuffer, buffer.count < wanted {
            buffer.deallocate()
            readBackBuffer = nil
        }
        if readBackBuffer == nil {
            readBackBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 4096)
        }
        let buffer = readBackBuffer!
        var offset = 0
        while offset < copied {
            let want = min(buffer.count, copied - offset)
            let got = pread(file.descriptor, buffer.baseAddress, want, off_t(size) + off_t(offset))
            if got < 0 {
                if errno == EINTR { continue }
                throw IOError.current("read back", file.temporaryPath)
            }
            if got == 0 { throw IOError(errno: EIO, operation: "read back (short)", path: file.temporaryPath) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            offset += got
        }
    }

    /// Makes the bytes durable, checks them against `expected` (and `expectedSize`), and links the object in.
    public func commit(expected: Digest? = nil, expectedSize: UInt64? = nil) throws -> ObjectStore.Insertion {
        let digest = try verifiedDigest(expected: expected, expectedSize: expectedSize)
        let finalPath = store.layout.objectPath(digest)
        if FileSystem.exists(finalPath) {
            abandon()
            return .init(digest: digest, size: size, created: false)
        }
        do {
            let createdDirectory = try DurableFile.makeDirectory(store.layout.objects + "/sha256/" + digest.fanout)
            // link(2) never replaces an existing name: two writers racing for the same object both succeed
            // and exactly one file (identical bytes) stays.
            let created = try file.commit(to: finalPath, mode: mode, placement: .keepExisting,
                                          createdParent: createdDirectory, exactMode: true)
            return .init(digest: digest, size: size, created: created)
        } catch {
            abandon()
            throw error
        }
    }

    /// Discards the temp file.
    public func abandon() {
        file.abandon()
    }

    /// Finishes the object **without** making it durable or naming it: the first half of a batched
    /// commit (``ObjectBatch``). Returns its digest, its size and the sealed temp file, which the caller now
    /// owns; no temp file (nil) when the store already holds the object.
    /// With `expected` and `expectedSize`, the bytes are checked as ``commit(expected:expectedSize:)`` checks
    /// them (`IntegrityError`, temp file removed).
    func seal(expected: Digest? = nil, expectedSize: UInt64? = nil) throws -> (digest: Digest, size: UInt64, temporaryPath: String?) {
        let digest = try verifiedDigest(expected: expected, expectedSize: expectedSize)
        if FileSystem.exists(store.layout.objectPath(digest)) {
            abandon()
            return (digest, size, nil)
        }
        return (digest, size, try file.seal(mode: mode, exactMode: true))
    }

    /// The digest of the bytes written, once they match `expected` and `expectedSize` (else the temp file is
    /// removed and `IntegrityError` thrown).
    private func verifiedDigest(expected: Digest?, expectedSize: UInt64?) throws(IntegrityError) -> Digest {
        let digest = hasher.finalize()
        if let expectedSize, expectedSize != size {
            abandon()
            throw IntegrityError(.sizeMismatch, "object \(expected?.description ?? digest.description): expected \(expectedSize) bytes, got \(size)")
        }
        if let expected, expected != digest {
            abandon()
            throw IntegrityError(.digestMismatch, "content expected to be \(expected) hashes to \(digest)",
                                 hint: "the source is corrupt or was tampered with; nothing was stored")
        }
        return digest
    }
}

@available(*, unavailable)
extension ObjectWriter: Sendable {}
