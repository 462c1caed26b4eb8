internal import CModelSyncZip
import Foundation

/// A failure reading or writing a zip archive: libzip's error code and message, with the archive and entry.
///
/// Codes below 1000 are libzip's `ZIP_ER_*` values; codes from 1000 up are checks model-sync makes itself
/// because libzip does not (an entry yielding more bytes than it declares).
public struct ZipError: ModelSyncError {
    /// What went wrong, as libzip's `ZIP_ER_*` number or one of model-sync's own checks.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The `ZIP_ER_*` value, or a value from 1000 up for model-sync's own checks.
        public let rawValue: Int32
        /// Wraps a raw code.
        public init(_ rawValue: Int32) { self.rawValue = rawValue }

        /// `ZIP_ER_CRC`: the entry's data does not match its CRC-32.
        public static let crc = Code(ZIP_ER_CRC)
        /// `ZIP_ER_NOZIP`: the file is not a zip archive (or its end of central directory is missing).
        public static let notAZip = Code(ZIP_ER_NOZIP)
        /// `ZIP_ER_INCONS`: local and central headers disagree, or the data ends before its declared size.
        public static let inconsistent = Code(ZIP_ER_INCONS)
        /// `ZIP_ER_EXISTS`: two entries share a name (at open), or a name is added twice (when writing).
        public static let exists = Code(ZIP_ER_EXISTS)
        /// `ZIP_ER_EOF`: the archive ends early.
        public static let prematureEOF = Code(ZIP_ER_EOF)
        /// `ZIP_ER_NOPASSWD`: the entry is encrypted.
        public static let noPassword = Code(ZIP_ER_NOPASSWD)
        /// `ZIP_ER_ENCRNOTSUPP`: the entry uses an encryption method libzip does not support.
        public static let encryptionNotSupported = Code(ZIP_ER_ENCRNOTSUPP)
        /// `ZIP_ER_COMPNOTSUPP`: the entry uses a compression method libzip does not support.
        public static let compressionNotSupported = Code(ZIP_ER_COMPNOTSUPP)
        /// `ZIP_ER_COMPRESSED_DATA`: the compressed stream is invalid.
        public static let compressedData = Code(ZIP_ER_COMPRESSED_DATA)
        /// `ZIP_ER_ZLIB`: zlib reported an error.
        public static let zlib = Code(ZIP_ER_ZLIB)
        /// `ZIP_ER_NOENT`: the archive does not exist.
        public static let noSuchFile = Code(ZIP_ER_NOENT)
        /// `ZIP_ER_OPEN`: the archive (or a source file) could not be opened; see `systemErrno`.
        public static let open = Code(ZIP_ER_OPEN)
        /// `ZIP_ER_READ`: a read failed; see `systemErrno`.
        public static let read = Code(ZIP_ER_READ)
        /// `ZIP_ER_WRITE`: a write failed; see `systemErrno`.
        public static let write = Code(ZIP_ER_WRITE)
        /// `ZIP_ER_INVAL`: an invalid argument (such as an entry index out of range).
        public static let invalidArgument = Code(ZIP_ER_INVAL)
        /// An entry yielded more bytes than its declared uncompressed size (reading stops one byte past it).
        public static let entryLongerThanDeclared = Code(1000)
        /// An entry ended before its declared uncompressed size.
        public static let entryShorterThanDeclared = Code(1001)
        /// An entry declares more bytes than the caller allows for it.
        public static let entryTooLarge = Code(1002)

        public var description: String { "\(rawValue)" }
    }

    /// libzip's error code, or one of model-sync's own.
    public let code: Code
    /// The `errno` (or zlib code) libzip recorded with the error, 0 when there is none.
    public let systemCode: Int32
    /// libzip's message (`zip_error_strerror`), or model-sync's own for its own checks.
    public let detail: String
    /// The archive being read or written.
    public let archivePath: String
    /// The entry involved, when there is one.
    public let entryName: String?

    /// Builds an error from its parts; the wrapper builds these from libzip's `zip_error_t`.
    public init(code: Code, systemCode: Int32 = 0, detail: String, archivePath: String, entryName: String? = nil) {
        self.code = code
        self.systemCode = systemCode
        self.detail = detail
        self.archivePath = archivePath
        self.entryName = entryName
    }

    /// Corrupt or hostile content is an integrity error, a missing archive a usage error, the rest
    /// (I/O, memory, misuse) unexpected.
    public var category: ErrorCategory {
        switch code {
        case .crc, .notAZip, .inconsistent, .exists, .prematureEOF, .noPassword, .encryptionNotSupported,
             .compressionNotSupported, .compressedData, .zlib, .entryLongerThanDeclared,
             .entryShorterThanDeclared, .entryTooLarge, Code(ZIP_ER_MULTIDISK), Code(ZIP_ER_WRONGPASSWD):
            return .integrity
        case .noSuchFile:
            return .usage
        case _ where ErrorCategory.isOutOfSpace(errno: systemCode) && code != .zlib:
            return .outOfSpace
        default:
            return .unexpected
        }
    }

    /// `zip archive <path>[, entry "<name>"]: <detail>`; the entry name is escaped, it may hold control characters.
    public var message: String {
        if category == .outOfSpace { return "no space left on \(archivePath): \(detail)" }
        if let entryName {
            return "zip archive \(archivePath), entry \(entryName.debugDescription): \(detail)"
        }
        return "zip archive \(archivePath): \(detail)"
    }

    public var hint: String? {
        if category == .outOfSpace {
            return "free some space on the filesystem holding \(archivePath), then run the command again"
        }
        return category == .integrity ? "the archive is corrupt or hostile: fetch it again or rebuild it" : nil
    }
}

extension ZipError {
    /// Converts a `zip_error_t` (from `zip_get_error`, `zip_file_get_error`): call right after the failing call.
    init(_ error: UnsafeMutablePointer<zip_error_t>, archivePath: String, entryName: String? = nil) {
        self.init(
            code: Code(zip_error_code_zip(error)),
            systemCode: zip_error_code_system(error),
            detail: String(cString: zip_error_strerror(error)),
            archivePath: archivePath,
            entryName: entryName
        )
    }

    /// Converts the bare code `zip_open` returns. `zip_error_init_with_code` reads `errno` for system errors,
    /// so this must run right after `zip_open`.
    init(openCode: Int32, archivePath: String) {
        var error = zip_error_t()
        zip_error_init_with_code(&error, openCode)
        defer { zip_error_fini(&error) }
        self.init(&error, archivePath: archivePath)
    }

    /// The last error recorded on an archive handle.
    init(archive: OpaquePointer, archivePath: String, entryName: String? = nil) {
        self.init(zip_get_error(archive), archivePath: archivePath, entryName: entryName)
    }
}
