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
/// let oid = try LooseObjectWriter(objectsDirectory: repository.objectsDirectory).writeBlob(fromFileAt: path)
/// ```
struct LooseObjectWriter {
    /// The repository's `objects` directory.
    let objectsDirectory: String

    /// Bytes read from the source and framed per round.
    static let chunkSize = 1 << 20

    /// Writes the file at `path` as a blob; returns its id.
    func writeBlob(fromFileAt path: String) throws -> GitOID {
        let source = try FileSystem.open(path, O_RDONLY)
        defer { close(source) }
        var info = stat()
        guard fstat(source, &info) == 0 else { throw IOError.current("stat", path) }
        let size = UInt64(info.st_size)
        return try write(size: size, sourcePath: path) { buffer in
            try FileSystem.read(source, into: buffer, path: path)
        }
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
