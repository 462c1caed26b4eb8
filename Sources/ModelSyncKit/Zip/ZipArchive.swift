internal import CModelSyncZip
import Foundation

/// A zip archive opened read-only, listing its entries and streaming their data with size enforcement.
///
/// Opening checks the archive's consistency (`ZIP_CHECKCONS`: local and central headers agree, no
/// duplicate names); truncated files and non-zip files fail with a ``ZipError``. Names are taken whole from
/// the central directory (``ZipCentralDirectory``), NUL bytes included, and are not validated: see ``ZipEntry``.
///
/// ```swift
/// let archive = try ZipArchive(path: downloaded)
/// for entry in archive.entries where !entry.isDirectory {
///     try archive.read(entry: entry) { chunk in hasher.update(chunk) }
/// }
/// ```
public final class ZipArchive {
    /// The archive's path.
    public let path: String
    /// The entries in central directory order.
    public let entries: [ZipEntry]
    /// The `zip_t*`, owned: discarded in deinit (nothing to write, the archive is read-only).
    private let handle: OpaquePointer

    /// The read buffer: a chunk never exceeds it, so memory stays constant whatever the entry's size.
    static let chunkSize = 1 << 20

    /// Opens the archive at `path` read-only (`zip_open` with `ZIP_CHECKCONS | ZIP_RDONLY`) and reads its
    /// central directory.
    public init(path: String) throws {
        self.path = path
        var code: Int32 = 0
        guard let handle = zip_open(path, ZIP_CHECKCONS | ZIP_RDONLY, &code) else {
            throw ZipError(openCode: code, archivePath: path)
        }
        do {
            entries = try Self.readEntries(handle, path: path)
        } catch {
            zip_discard(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        zip_discard(handle)
    }

    private static func readEntries(_ handle: OpaquePointer, path: String) throws -> [ZipEntry] {
        let count = zip_get_num_entries(handle, 0)
        guard count >= 0 else { throw ZipError(archive: handle, archivePath: path) }
        // libzip 1.7 hands a name holding a NUL byte out with a space in its place (and as a C string, a
        // newer one could cut it there): the central directory gives every name as stored.
        let wholeNames = try ZipCentralDirectory.rawNames(ofArchiveAt: path)
        guard wholeNames.count == Int(count) else {
            throw ZipError(code: .inconsistent, detail: "the central directory lists \(wholeNames.count) entries, "
                           + "libzip \(count)", archivePath: path)
        }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(count))
        for index in 0..<UInt64(count) {
            guard let raw = zip_get_name(handle, index, zip_flags_t(ZIP_FL_ENC_RAW)) else {
                throw ZipError(archive: handle, archivePath: path)
            }
            let cut = Array(UnsafeBufferPointer(start: raw, count: strlen(raw))).map { UInt8(bitPattern: $0) }
            let rawName = wholeNames[Int(index)]
            let agrees = cut.count <= rawName.count && (cut.count == rawName.count || rawName[cut.count] == 0)
                && zip(cut, rawName).allSatisfy { $0 == $1 || ($1 == 0 && $0 == UInt8(ascii: " ")) }
            guard agrees else {
                throw ZipError(code: .inconsistent, detail: "entry \(index)'s name differs between libzip and the "
                               + "central directory", archivePath: path)
            }
            // Not libzip's ZIP_FL_ENC_GUESS: it reads names with control characters as CP437 and turns
            // 0x01 into "☺", hiding exactly what a validator must see.
            let name = String(decoding: rawName, as: UTF8.self)

            var stat = zip_stat_t()
            zip_stat_init(&stat)
            guard zip_stat_index(handle, index, 0, &stat) == 0 else {
                throw ZipError(archive: handle, archivePath: path, entryName: name)
            }
            var hostSystem: UInt8 = 0
            var attributes: UInt32 = 0
            guard zip_file_get_external_attributes(handle, index, 0, &hostSystem, &attributes) == 0 else {
                throw ZipError(archive: handle, archivePath: path, entryName: name)
            }
            entries.append(ZipEntry(
                index: Int(index), rawName: rawName, name: name,
                size: stat.size, compressedSize: stat.comp_size, crc32: stat.crc,
                compressionMethod: ZipCompressionMethod(rawValue: stat.comp_method),
                encryptionMethod: ZipEncryptionMethod(rawValue: stat.encryption_method),
                hostSystem: hostSystem, externalAttributes: attributes
            ))
        }
        return entries
    }

    /// Streams an entry's uncompressed data to `body` in chunks of at most 1 MiB.
    ///
    /// Reading stops one byte past the declared size: an entry that yields more throws
    /// ``ZipError/Code/entryLongerThanDeclared`` (a zip bomb cannot lie its way past a size limit), one that
    /// yields fewer throws ``ZipError/Code/entryShorterThanDeclared`` or libzip's `ZIP_ER_INCONS`. A CRC
    /// mismatch throws ``ZipError/Code/crc`` at the end, after `body` has seen all the data, so the caller
    /// must discard what it received when this throws. Encrypted entries throw ``ZipError/Code/noPassword``.
    /// Wraps `zip_fopen_index`, `zip_fread`, `zip_fclose`.
    public func read(entry: ZipEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard entry.index >= 0, entry.index < entries.count, entries[entry.index].rawName == entry.rawName else {
            throw ZipError(code: .invalidArgument, detail: "no such entry in this archive",
                           archivePath: path, entryName: entry.name)
        }
        guard let file = zip_fopen_index(handle, UInt64(entry.index), 0) else {
            throw ZipError(archive: handle, archivePath: path, entryName: entry.name)
        }
        var open = true
        defer { if open { zip_fclose(file) } }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            // Ask for at most one byte past the declared size: enough to prove the entry lies, no more.
            // `remaining + 1` only below a chunk: a declared size of 2^64 − 1 must not overflow.
            let remaining = entry.size - total
            let wanted = remaining < UInt64(Self.chunkSize) ? remaining + 1 : UInt64(Self.chunkSize)
            let count = zip_fread(file, buffer.baseAddress!, wanted)
            if count < 0 {
                throw ZipError(zip_file_get_error(file), archivePath: path, entryName: entry.name)
            }
            if count == 0 { break }
            total += UInt64(count)
            if total > entry.size {
                throw ZipError(code: .entryLongerThanDeclared,
                               detail: "the data is longer than the declared size of \(entry.size) bytes",
                               archivePath: path, entryName: entry.name)
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)]))
        }
        if total < entry.size {
            throw ZipError(code: .entryShorterThanDeclared,
                           detail: "the data ends after \(total) of the declared \(entry.size) bytes",
                           archivePath: path, entryName: entry.name)
        }
        open = false
        let code = zip_fclose(file)
        if code != 0 {
            var error = zip_error_t()
            zip_error_init_with_code(&error, code)
            defer { zip_error_fini(&error) }
            throw ZipError(&error, archivePath: path, entryName: entry.name)
        }
    }

    /// Reads a whole entry into memory: for small entries such as `manifest.json`. Same checks as
    /// ``read(entry:into:)``; `limit` refuses entries declaring more bytes before anything is read.
    public func contents(of entry: ZipEntry, limit: UInt64 = 64 << 20) throws -> [UInt8] {
        guard entry.size <= limit else {
            throw ZipError(code: .entryTooLarge,
                           detail: "the entry declares \(entry.size) bytes, more than the \(limit) allowed here",
                           archivePath: path, entryName: entry.name)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.size))
        try read(entry: entry) { bytes.append(contentsOf: $0) }
        return bytes
    }
}

/// The `zip_t*` is confined to one task: libzip handles are not thread-safe.
@available(*, unavailable)
extension ZipArchive: Sendable {}
