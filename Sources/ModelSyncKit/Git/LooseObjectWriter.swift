#if canImport(Glibc)
internal import Glibc
#endif

/// Writes blobs as git loose objects whose zlib stream holds *stored* (uncompressed) deflate blocks.
///
/// libgit2's loose backend deflates at `Z_BEST_SPEED` (about 31–36 MB/s on model weights, which do not
/// compress), and its level 0 means "no zlib at all", which is not a valid object. A loose object is
/// zlib(`blob <size>\0` + content) and zlib allows stored blocks, so this writer frames the bytes itself
/// (RFC 1950/1951): header `78 01`, blocks of at most 65 535 bytes each led by a byte with BFINAL and the
/// stored type, LEN and NLEN (little-endian), an empty final block, then the Adler-32 of the data
/// (big-endian). The id is the SHA-1 of the same uncompressed bytes (OpenSSL). git and libgit2 read the
/// result as any loose object.
///
/// The object is written in constant memory (``StoredZlibStream``) to a ``DurableFile`` in the objects
/// directory, made read-only and linked to `objects/ab/cdef…`; an object already there is kept, never
/// overwritten.
///
/// ```swift
/// let (oid, source) = try LooseObjectWriter(objectsDirectory: repository.objectsDirectory).writeBlob(fromFileAt: path)
/// ```
struct LooseObjectWriter {
    /// The repository's `objects` directory.
    let objectsDirectory: String

    /// Bytes read from the source and framed per round.
    static let chunkSize = 1 << 20

    /// Writes the file at `path` as a blob; returns its id, and the file as a ``BlobSource`` when it is
    /// read-only and did not change while it was read (a store object: a checkout may link it instead of
    /// writing the blob's bytes once more).
    func writeBlob(fromFileAt path: String) throws -> (oid: GitOID, source: BlobSource?) {
        let source = try FileSystem.open(path, O_RDONLY)
        defer { close(source) }
        var info = stat()
        guard fstat(source, &info) == 0 else { throw IOError.current("stat", path) }
        let size = UInt64(info.st_size)
        let oid = try write(size: size, sourcePath: path) { buffer in
            try FileSystem.read(source, into: buffer, path: path)
        }
        var after = stat()
        guard fstat(source, &after) == 0 else { throw IOError.current("stat", path) }
        let identity = FileIdentity(info)
        let unchanged = identity == FileIdentity(after)
        return (oid, unchanged && info.st_mode & 0o222 == 0 ? BlobSource(path: path, identity: identity) : nil)
    }

    /// Writes `bytes` as a blob; returns its id.
    func writeBlob(bytes: [UInt8]) throws -> GitOID {
        var offset = 0
        return try write(size: UInt64(bytes.count), sourcePath: "a buffer") { buffer in
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
            }
            offset += count
            return count
        }
    }

    /// Streams exactly `size` bytes from `fill` (which returns 0 at the end) into a new loose object:
    /// frame them, then give the durable temp file its name.
    private func write(size: UInt64, sourcePath: String,
                       fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> GitOID {
        let file = try DurableFile(in: objectsDirectory, prefix: "tmp_obj_model_sync_")
        let stream = StoredZlibStream(into: file, chunkSize: Self.chunkSize)
        try Array("blob \(size)\0".utf8).withUnsafeBytes { try stream.append($0) }
        try Self.copy(exactly: size, from: fill, into: stream, sourcePath: sourcePath)
        let oid = GitOID(bytes: try stream.finish())
        let destination = try Self.destination(of: oid, in: objectsDirectory)
        // An object already there is kept: same id, same content.
        try file.commit(to: destination.path, mode: 0o444, placement: .keepExisting,
                        createdParent: destination.createdDirectory)
        return oid
    }

    /// Feeds `fill`'s bytes to `stream`, one chunk at a time, refusing a source that grows or shrinks.
    private static func copy(exactly size: UInt64, from fill: (UnsafeMutableRawBufferPointer) throws -> Int,
                             into stream: StoredZlibStream, sourcePath: String) throws {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { input.deallocate() }
        var remaining = size
        while true {
            let count = try fill(input)
            if count == 0 { break }
            guard UInt64(count) <= remaining else {
                throw IOError(errno: EIO, operation: "read (the file grew while it was written as a blob)", path: sourcePath)
            }
            remaining -= UInt64(count)
            try stream.append(UnsafeRawBufferPointer(rebasing: input[0..<count]))
        }
        guard remaining == 0 else {
            throw IOError(errno: EIO, operation: "read (the file shrank while it was written as a blob)", path: sourcePath)
        }
    }

    /// The path of `oid` in `objectsDirectory`, its fan-out directory created when missing.
    static func destination(of oid: GitOID, in objectsDirectory: String) throws(IOError)
        -> (path: String, createdDirectory: Bool) {
        let hex = oid.hex
        let directory = objectsDirectory + "/" + hex.prefix(2)
        let created = try DurableFile.makeDirectory(directory)
        return (directory + "/" + hex.dropFirst(2), created)
    }
}

/// What identifies a file's bytes without reading them, git's way: a write changes the size or mtime, and
/// ctime (which no call can set back).
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let mtime: timespec
    let ctime: timespec

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mtime = info.st_mtim
        ctime = info.st_ctim
    }

    /// Same file, same size and mtime; ctime aside (a new link to the file changes it, not its bytes).
    func sameContent(as other: FileIdentity) -> Bool {
        device == other.device && inode == other.inode && size == other.size
            && mtime.tv_sec == other.mtime.tv_sec && mtime.tv_nsec == other.mtime.tv_nsec
    }

    static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
        lhs.sameContent(as: rhs) && lhs.ctime.tv_sec == rhs.ctime.tv_sec && lhs.ctime.tv_nsec == rhs.ctime.tv_nsec
    }
}

/// A read-only file that held exactly a blob's bytes when the blob was written from it (a store object).
struct BlobSource {
    /// The file.
    let path: String
    /// Its identity while it was read.
    let identity: FileIdentity
}

/// The files blobs were written from by this handle (``Repository/writeStoredBlob(fromFileAt:)``), so a
/// checkout that adds such a blob links or copies the file instead of inflating the object: the blob's bytes
/// are then written once (the loose object), not twice. In memory only, for the handle's lifetime.
final class BlobSources {
    private var sources: [GitOID: BlobSource] = [:]

    /// Remembers `source` for `oid`.
    func remember(_ oid: GitOID, _ source: BlobSource?) {
        if let source { sources[oid] = source }
    }

    /// The file remembered for `oid`, if its identity (ctime included) is still the one it had when read.
    func source(of oid: GitOID) -> BlobSource? {
        guard let source = sources[oid] else { return nil }
        var info = stat()
        guard lstat(source.path, &info) == 0, FileIdentity(info) == source.identity else { return nil }
        return source
    }
}

@available(*, unavailable)
extension BlobSources: Sendable {}
