#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncCrypto

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
/// The object is written in constant memory to a temporary file in the objects directory, flushed to disk,
/// made read-only and linked to `objects/ab/cdef…`; an object already there is kept, never overwritten.
///
/// ```swift
/// let oid = try LooseObjectWriter(objectsDirectory: repository.objectsDirectory).writeBlob(fromFileAt: path)
/// ```
struct LooseObjectWriter {
    /// The repository's `objects` directory.
    let objectsDirectory: String

    /// Bytes read from the source and framed per round.
    static let chunkSize = 1 << 20
    /// The largest stored block.
    static let blockSize = 65_535

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

    /// Streams exactly `size` bytes from `fill` (which returns 0 at the end) into a new loose object.
    private func write(size: UInt64, sourcePath: String,
                       fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> GitOID {
        let (output, temporary) = try FileSystem.createTemporaryFile(in: objectsDirectory, prefix: "tmp_obj_model_sync_")
        var linked = false
        defer {
            close(output)
            if !linked { unlink(temporary) }
        }

        let sha1 = GitSHA1()
        var adler = Adler32()
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { input.deallocate() }
        // Each block adds 5 bytes of framing.
        let framedCapacity = Self.chunkSize + (Self.chunkSize / Self.blockSize + 2) * 5 + 64
        let framed = UnsafeMutableRawBufferPointer.allocate(byteCount: framedCapacity, alignment: 16)
        defer { framed.deallocate() }
        var framedCount = 0

        func flush() throws {
            try FileSystem.writeAll(output, UnsafeRawBufferPointer(rebasing: framed[0..<framedCount]), path: temporary)
            framedCount = 0
        }
        func append(_ bytes: UnsafeRawBufferPointer) {
            (framed.baseAddress! + framedCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            framedCount += bytes.count
        }
        /// Frames `data` (the uncompressed object bytes) as non-final stored blocks and hashes it.
        func frame(_ data: UnsafeRawBufferPointer) {
            sha1.update(data)
            adler.update(data)
            var offset = 0
            while offset < data.count {
                let count = min(Self.blockSize, data.count - offset)
                let length = UInt16(count)
                let header: [UInt8] = [0x00, UInt8(length & 0xFF), UInt8(length >> 8),
                                       UInt8(~length & 0xFF), UInt8(~length >> 8)]
                header.withUnsafeBytes { append($0) }
                append(UnsafeRawBufferPointer(rebasing: data[offset..<offset + count]))
                offset += count
            }
        }

        let zlibHeader: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary, "fastest"
        zlibHeader.withUnsafeBytes { append($0) }
        Array("blob \(size)\0".utf8).withUnsafeBytes { frame($0) }
        var remaining = size
        while true {
            let count = try fill(input)
            if count == 0 { break }
            guard UInt64(count) <= remaining else {
                throw IOError(errno: EIO, operation: "read (the file grew while it was written as a blob)", path: sourcePath)
            }
            remaining -= UInt64(count)
            frame(UnsafeRawBufferPointer(rebasing: input[0..<count]))
            try flush()
        }
        guard remaining == 0 else {
            throw IOError(errno: EIO, operation: "read (the file shrank while it was written as a blob)", path: sourcePath)
        }
        // An empty final stored block, then the Adler-32 of the uncompressed bytes.
        let checksum = adler.value
        let trailer: [UInt8] = [0x01, 0x00, 0x00, 0xFF, 0xFF,
                                UInt8(checksum >> 24), UInt8(checksum >> 16 & 0xFF),
                                UInt8(checksum >> 8 & 0xFF), UInt8(checksum & 0xFF)]
        trailer.withUnsafeBytes { append($0) }
        try flush()
        guard fchmod(output, 0o444) == 0 else { throw IOError.current("chmod", temporary) }
        guard fsync(output) == 0 else { throw IOError.current("fsync", temporary) }

        let oid = sha1.finalize()
        let final = try Self.prepareDestination(of: oid, in: objectsDirectory)
        if link(temporary, final) != 0 && errno != EEXIST {
            // A filesystem without hard links: rename, unless the object appeared meanwhile.
            guard access(final, F_OK) != 0 else { return oid }
            guard rename(temporary, final) == 0 else { throw IOError.current("rename", final) }
            linked = true
        }
        return oid
    }

    /// The path of `oid` in `objectsDirectory`, its fan-out directory created when missing.
    static func prepareDestination(of oid: GitOID, in objectsDirectory: String) throws -> String {
        let hex = oid.hex
        let directory = objectsDirectory + "/" + hex.prefix(2)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw IOError.current("mkdir", directory) }
        return directory + "/" + hex.dropFirst(2)
    }
}

/// Adler-32 (RFC 1950), the zlib stream's checksum.
struct Adler32 {
    private var a: UInt32 = 1
    private var b: UInt32 = 0

    /// The checksum of everything fed so far.
    var value: UInt32 { b << 16 | a }

    /// Feeds bytes; reduces modulo 65521 every 5552 bytes (zlib's NMAX), the most that cannot overflow.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let base: UInt32 = 65_521
        var offset = 0
        var a = self.a
        var b = self.b
        while offset < bytes.count {
            let end = min(offset + 5552, bytes.count)
            for index in offset..<end {
                a &+= UInt32(bytes[index])
                b &+= a
            }
            a %= base
            b %= base
            offset = end
        }
        self.a = a
        self.b = b
    }
}

/// Streaming SHA-1 through OpenSSL's EVP interface, for git object ids.
final class GitSHA1 {
    private let context: OpaquePointer

    init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: \(CryptoError.drainQueue())") }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha1(), nil) == 1 else {
            fatalError("EVP_DigestInit_ex(sha1) failed: \(CryptoError.drainQueue())")
        }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The id; call once.
    func finalize() -> GitOID {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &output, &length)
        return GitOID(bytes: Array(output.prefix(Int(length))))
    }
}

@available(*, unavailable)
extension GitSHA1: Sendable {}
