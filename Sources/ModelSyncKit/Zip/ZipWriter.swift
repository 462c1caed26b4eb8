internal import CModelSyncZip
import Foundation

/// Writes a zip archive deterministically: the same entries and file contents give the same bytes.
///
/// Entries keep the order they are added in, carry a fixed timestamp (1980-01-01 00:00, the earliest
/// MS-DOS date) and fixed Unix attributes (0644, or 0755 for executables), whatever the source files'
/// times and modes. Data streams from the source files when the archive is committed (`zip_source_file`),
/// never held in memory; libzip switches to zip64 by itself for large entries. The archive is written to a
/// temporary file beside `path` and renamed into place only after `zip_close` succeeds; a writer dropped
/// without ``commit()`` leaves nothing behind.
///
/// ```swift
/// let writer = try ZipWriter(creatingAt: "delta.zip")
/// try writer.addFile(at: manifestPath, as: "manifest.json", compression: .deflate)
/// try writer.addFile(at: objectPath, as: "objects/sha256/ab/ab12…", compression: .store)
/// try writer.commit()
/// ```
public final class ZipWriter {
    /// Where the archive appears after ``commit()``.
    public let path: String
    /// The file libzip writes; renamed to `path` on success.
    private let temporaryPath: String
    /// The `zip_t*`, owned until `zip_close` succeeds (which frees it) or `zip_discard`.
    private var handle: OpaquePointer?
    private var entryCount = 0
    /// The contexts of streamed entries (``addEntry(from:as:compression:executable:)``): libzip holds them
    /// unretained until `zip_close` or `zip_discard`, so they live as long as the writer.
    private var streamed: [ZipSourceContext] = []

    /// MS-DOS date of 1980-01-01 (year 0 since 1980, month 1, day 1) and time 00:00:00. Set as a DOS
    /// date rather than with `zip_file_set_mtime`, which converts through the local time zone.
    private static let fixedDOSDate: UInt16 = (0 << 9) | (1 << 5) | 1
    private static let fixedDOSTime: UInt16 = 0

    /// Starts an archive that will be written to `path` (replacing any file there) on ``commit()``.
    public init(creatingAt path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        temporaryPath = (directory.isEmpty ? "" : directory + "/")
            + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var code: Int32 = 0
        guard let handle = zip_open(temporaryPath, ZIP_CREATE | ZIP_EXCL, &code) else {
            throw ZipError(openCode: code, archivePath: path)
        }
        self.handle = handle
    }

    deinit {
        if let handle {
            zip_discard(handle)
            unlink(temporaryPath)
        }
    }

    /// Adds the file at `sourcePath` as entry `name`, after the entries already added.
    ///
    /// The name is stored as given (UTF-8); the caller is responsible for it being a safe relative path.
    /// The source must be a regular file; it is read when the archive is committed, so it must stay in
    /// place until then.
    /// Wraps `zip_source_file`, `zip_file_add`, `zip_set_file_compression`, `zip_file_set_dostime` and
    /// `zip_file_set_external_attributes`.
    public func addFile(
        at sourcePath: String, as name: String,
        compression: ZipCompressionMethod = .deflate, executable: Bool = false
    ) throws {
        guard let handle else {
            throw ZipError(code: .invalidArgument, detail: "the archive was already committed",
                           archivePath: path, entryName: name)
        }
        // libzip 1.7 opens the source only in zip_close: check it now so the error names the file early.
        var info = stat()
        guard stat(sourcePath, &info) == 0 else { throw IOError.current("stat", sourcePath) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ZipError(code: .invalidArgument, detail: "\(sourcePath) is not a regular file",
                           archivePath: path, entryName: name)
        }
        // Length -1: to the end of the file (libzip 1.7 has no ZIP_LENGTH_TO_END).
        guard let source = zip_source_file(handle, sourcePath, 0, -1) else {
            throw ZipError(archive: handle, archivePath: path, entryName: name)
        }
        try add(source, to: handle, as: name, compression: compression, executable: executable)
    }

    /// Adds an entry whose data `source` supplies while the archive is written (`zip_source_function`), so
    /// that the source sees, and can check, exactly the bytes the archive holds. An error the source throws
    /// is the one ``commit()`` throws.
    func addEntry(from source: any ZipEntrySource, as name: String, compression: ZipCompressionMethod = .deflate,
                  executable: Bool = false) throws {
        guard let handle else {
            throw ZipError(code: .invalidArgument, detail: "the archive was already committed",
                           archivePath: path, entryName: name)
        }
        let context = ZipSourceContext(source)
        guard let zipSource = zip_source_function(handle, zipSourceCallback, Unmanaged.passUnretained(context).toOpaque()) else {
            throw ZipError(archive: handle, archivePath: path, entryName: name)
        }
        streamed.append(context)
        try add(zipSource, to: handle, as: name, compression: compression, executable: executable)
    }

    /// `zip_file_add` of a source, then the fixed time and attributes.
    private func add(_ source: OpaquePointer, to handle: OpaquePointer, as name: String,
                     compression: ZipCompressionMethod, executable: Bool) throws {
        let index = zip_file_add(handle, name, source, zip_flags_t(ZIP_FL_ENC_UTF_8))
        guard index >= 0 else {
            // "zip_file_add … the source is freed only on success": on failure it is still ours.
            let error = ZipError(archive: handle, archivePath: path, entryName: name)
            zip_source_free(source)
            throw error
        }
        entryCount += 1
        let entry = UInt64(index)
        let mode: UInt32 = executable ? 0o100755 : 0o100644
        guard zip_set_file_compression(handle, entry, Int32(compression.rawValue), 0) == 0,
              zip_file_set_dostime(handle, entry, Self.fixedDOSTime, Self.fixedDOSDate, 0) == 0,
              zip_file_set_external_attributes(handle, entry, 0, UInt8(ZIP_OPSYS_UNIX), mode << 16) == 0
        else {
            throw ZipError(archive: handle, archivePath: path, entryName: name)
        }
    }

    /// Writes the archive (`zip_close`), flushes it to disk, renames it to `path` and syncs the directory.
    ///
    /// On failure the partial file is removed and nothing appears at `path`.
    public func commit() throws {
        guard let handle else {
            throw ZipError(code: .invalidArgument, detail: "the archive was already committed", archivePath: path)
        }
        self.handle = nil
        if entryCount == 0 {
            // zip_close deletes an archive without entries instead of writing one: write the 22-byte
            // end-of-central-directory record of an empty archive ourselves.
            zip_discard(handle)
            let empty: [UInt8] = [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
            try DurableFile.write(empty, to: path)
            return
        }
        if zip_close(handle) != 0 {
            // zip_close frees the handle only on success.
            let error: any Error = streamed.lazy.compactMap(\.failure).first ?? ZipError(archive: handle, archivePath: path)
            zip_discard(handle)
            unlink(temporaryPath)
            throw error
        }
        // libzip wrote the temp file itself: it joins the one write protocol at the fsync step.
        try DurableFile.commit(writtenFile: temporaryPath, to: path, placement: .replace)
    }

    /// Writes `entries` (name, source file, compression, executable) to `path` in one call.
    public static func write(
        to path: String,
        entries: [(name: String, sourcePath: String, compression: ZipCompressionMethod, executable: Bool)]
    ) throws {
        let writer = try ZipWriter(creatingAt: path)
        for entry in entries {
            try writer.addFile(at: entry.sourcePath, as: entry.name,
                               compression: entry.compression, executable: entry.executable)
        }
        try writer.commit()
    }
}

/// The `zip_t*` is confined to one task: libzip handles are not thread-safe.
@available(*, unavailable)
extension ZipWriter: Sendable {}
