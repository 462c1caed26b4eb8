/// Frames bytes as a zlib stream of *stored* (uncompressed) deflate blocks (RFC 1950/1951) into a
/// ``DurableFile``, hashing the uncompressed bytes with SHA-1 as it goes: the body of a git loose object.
///
/// Layout: header `78 01`, blocks of at most 65 535 bytes each led by a byte with BFINAL clear and the
/// stored type, LEN and NLEN (little-endian), an empty final block, then the Adler-32 of the data
/// (big-endian). Memory stays constant: one framing buffer of about one chunk. Confined to one task.
final class StoredZlibStream {
    /// The largest stored block.
    static let blockSize = 65_535

    private let output: DurableFile
    private let sha1 = EVPHasher(.sha1)
    private var adler = Adler32()
    private let framed: UnsafeMutableRawBufferPointer
    private var framedCount = 0

    /// A stream into `output` that accepts up to `chunkSize` bytes per ``append(_:)``.
    init(into output: DurableFile, chunkSize: Int) {
        self.output = output
        // Each block adds 5 bytes of framing; the header and trailer fit in the slack.
        let capacity = chunkSize + (chunkSize / Self.blockSize + 2) * 5 + 64
        framed = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        let zlibHeader: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary, "fastest"
        zlibHeader.withUnsafeBytes { put($0) }
    }

    deinit {
        framed.deallocate()
    }

    /// Frames and hashes `data` (uncompressed object bytes, at most `chunkSize`), then writes it out.
    func append(_ data: UnsafeRawBufferPointer) throws(IOError) {
        sha1.update(data)
        adler.update(data)
        var offset = 0
        while offset < data.count {
            let count = min(Self.blockSize, data.count - offset)
            let length = UInt16(count)
            let header: [UInt8] = [0x00, UInt8(length & 0xFF), UInt8(length >> 8),
                                   UInt8(~length & 0xFF), UInt8(~length >> 8)]
            header.withUnsafeBytes { put($0) }
            put(UnsafeRawBufferPointer(rebasing: data[offset..<offset + count]))
            offset += count
        }
        try flush()
    }

    /// Writes the empty final block and the Adler-32; returns the SHA-1 of everything appended.
    func finish() throws(IOError) -> [UInt8] {
        let checksum = adler.value
        let trailer: [UInt8] = [0x01, 0x00, 0x00, 0xFF, 0xFF,
                                UInt8(checksum >> 24), UInt8(checksum >> 16 & 0xFF),
                                UInt8(checksum >> 8 & 0xFF), UInt8(checksum & 0xFF)]
        trailer.withUnsafeBytes { put($0) }
        try flush()
        return sha1.finalize()
    }

    private func put(_ bytes: UnsafeRawBufferPointer) {
        (framed.baseAddress! + framedCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        framedCount += bytes.count
    }

    private func flush() throws(IOError) {
        try output.write(UnsafeRawBufferPointer(rebasing: framed[0..<framedCount]))
        framedCount = 0
    }
}

@available(*, unavailable)
extension StoredZlibStream: Sendable {}

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
