#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// The entry names of a zip archive read straight from its central directory, byte for byte.
///
/// libzip hands names out as C strings (`zip_get_name`), and 1.7 turns a NUL byte into a space: `a.bin\0x`
/// would be validated, and extracted, as `a.bin x`, a name the archive does not hold. This reader takes each
/// name's length from its central directory header (APPNOTE 4.3.12, "file name length"), so ``ZipArchive``
/// can give its entries their whole names. It reads the end of central directory record (and its zip64
/// form), then walks the headers; anything it cannot follow is reported as ``ZipError/Code/inconsistent``.
///
/// ```swift
/// let names = try ZipCentralDirectory.rawNames(ofArchiveAt: path)   // [[UInt8]], central directory order
/// ```
enum ZipCentralDirectory {
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let headerSignature: UInt32 = 0x0201_4B50
    /// The fixed part of a central directory header, before the name.
    private static let headerSize = 46
    /// The end record is 22 bytes plus a comment of at most 65535.
    private static let endSearchSize = 22 + 65_535

    /// The raw name of every entry, in central directory order.
    static func rawNames(ofArchiveAt path: String) throws -> [[UInt8]] {
        let descriptor = try FileSystem.open(path, O_RDONLY)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw IOError.current("stat", path) }
        let file = Reader(descriptor: descriptor, size: UInt64(info.st_size), path: path)
        let (offset, size, count) = try locate(file)
        let directory = try file.read(at: offset, count: Int(size))
        var names: [[UInt8]] = []
        var position = 0
        for _ in 0..<count {
            guard position + headerSize <= directory.count,
                  directory.uint32(at: position) == headerSignature else {
                throw inconsistent(path, "central directory header \(names.count) is missing or cut short")
            }
            let nameLength = Int(directory.uint16(at: position + 28))
            let extraLength = Int(directory.uint16(at: position + 30))
            let commentLength = Int(directory.uint16(at: position + 32))
            let nameStart = position + headerSize
            guard nameStart + nameLength + extraLength + commentLength <= directory.count else {
                throw inconsistent(path, "central directory header \(names.count) runs past the directory")
            }
            names.append(Array(directory[nameStart..<(nameStart + nameLength)]))
            position = nameStart + nameLength + extraLength + commentLength
        }
        return names
    }

    /// The central directory's offset, size and entry count, from the end record (zip64 when it says so).
    private static func locate(_ file: Reader) throws -> (offset: UInt64, size: UInt64, count: UInt64) {
        let tailSize = Int(min(file.size, UInt64(endSearchSize)))
        let tailStart = file.size - UInt64(tailSize)
        let tail = try file.read(at: tailStart, count: tailSize)
        // The last signature wins: a comment could hold the same four bytes earlier on.
        guard tail.count >= 22,
              let end = stride(from: tail.count - 22, through: 0, by: -1).first(where: { tail.uint32(at: $0) == endSignature })
        else { throw inconsistent(file.path, "no end of central directory record") }
        var count = UInt64(tail.uint16(at: end + 10))
        var size = UInt64(tail.uint32(at: end + 12))
        var offset = UInt64(tail.uint32(at: end + 16))
        let endPosition = tailStart + UInt64(end)
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF, endPosition >= 20 {
            let locator = try file.read(at: endPosition - 20, count: 20)
            if locator.uint32(at: 0) == zip64LocatorSignature {
                let record = try file.read(at: locator.uint64(at: 8), count: 56)
                guard record.uint32(at: 0) == zip64EndSignature else {
                    throw inconsistent(file.path, "the zip64 end of central directory record is missing")
                }
                count = record.uint64(at: 32)
                size = record.uint64(at: 40)
                offset = record.uint64(at: 48)
            }
        }
        guard size <= UInt64(Int32.max), offset <= file.size, size <= file.size - offset else {
            throw inconsistent(file.path, "the central directory lies outside the file")
        }
        return (offset, size, count)
    }

    private static func inconsistent(_ path: String, _ detail: String) -> ZipError {
        ZipError(code: .inconsistent, detail: detail, archivePath: path)
    }

    /// Positioned reads of the archive file.
    private struct Reader {
        let descriptor: Int32
        let size: UInt64
        let path: String

        func read(at offset: UInt64, count: Int) throws -> [UInt8] {
            guard offset <= size, UInt64(count) <= size - offset else {
                throw ZipCentralDirectory.inconsistent(path, "a record points past the end of the file")
            }
            var bytes = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let got = bytes.withUnsafeMutableBytes { buffer in
                    pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
                }
                if got < 0 && errno == EINTR { continue }
                if got < 0 { throw IOError.current("read", path) }
                if got == 0 { throw ZipCentralDirectory.inconsistent(path, "the file ends inside a record") }
                filled += got
            }
            return bytes
        }
    }
}

private extension Array where Element == UInt8 {
    /// Little-endian integers, as every zip field is stored.
    func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }
    func uint32(at offset: Int) -> UInt32 { UInt32(uint16(at: offset)) | UInt32(uint16(at: offset + 2)) << 16 }
    func uint64(at offset: Int) -> UInt64 { UInt64(uint32(at: offset)) | UInt64(uint32(at: offset + 4)) << 32 }
}
