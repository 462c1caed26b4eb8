/// One entry of a zip archive as its central directory describes it, before any validation.
///
/// Everything here is what the archive claims: names may be hostile (`../evil`, `/abs`, control characters),
/// sizes may lie. A caller that extracts must validate `rawName`, reject symbolic links, encryption and
/// duplicates, and read through ``ZipArchive/read(entry:into:)``, which enforces `size`.
public struct ZipEntry: Hashable, Sendable {
    /// The entry's position in the central directory (`zip_uint64_t` index in libzip).
    public let index: Int
    /// The name's bytes exactly as stored in the archive's central directory, NUL bytes included (libzip's
    /// `zip_get_name` gives a space in place of a NUL: another name than the one stored).
    public let rawName: [UInt8]
    /// `rawName` decoded as UTF-8, control characters kept, invalid bytes replaced by U+FFFD (so a name
    /// that is not UTF-8 never equals a valid one). Validate `rawName` when in doubt.
    public let name: String
    /// The declared uncompressed size.
    public let size: UInt64
    /// The declared compressed size.
    public let compressedSize: UInt64
    /// The declared CRC-32 of the uncompressed data.
    public let crc32: UInt32
    /// The compression method.
    public let compressionMethod: ZipCompressionMethod
    /// The encryption method, `.none` for plain entries.
    public let encryptionMethod: ZipEncryptionMethod
    /// The host system that wrote the external attributes (`ZIP_OPSYS_*`; 3 is Unix).
    public let hostSystem: UInt8
    /// The external attributes (`zip_file_get_external_attributes`); on Unix the mode is in the high 16 bits.
    public let externalAttributes: UInt32

    /// Builds an entry description; ``ZipArchive`` makes these from the central directory.
    public init(
        index: Int, rawName: [UInt8], name: String, size: UInt64, compressedSize: UInt64, crc32: UInt32,
        compressionMethod: ZipCompressionMethod, encryptionMethod: ZipEncryptionMethod,
        hostSystem: UInt8, externalAttributes: UInt32
    ) {
        self.index = index
        self.rawName = rawName
        self.name = name
        self.size = size
        self.compressedSize = compressedSize
        self.crc32 = crc32
        self.compressionMethod = compressionMethod
        self.encryptionMethod = encryptionMethod
        self.hostSystem = hostSystem
        self.externalAttributes = externalAttributes
    }

    /// `ZIP_OPSYS_UNIX`.
    public static let unixHostSystem: UInt8 = 3

    /// True when the raw name ends with `/`, the only way zip marks a directory.
    public var isDirectory: Bool { rawName.last == UInt8(ascii: "/") }

    /// True when the entry is encrypted.
    public var isEncrypted: Bool { encryptionMethod != .none }

    /// The Unix mode (`st_mode`, type and permission bits) when the entry was written on Unix, else nil.
    public var unixMode: UInt32? {
        hostSystem == Self.unixHostSystem ? externalAttributes >> 16 : nil
    }

    /// True when the Unix mode says symbolic link (`S_IFLNK`); the entry's data is then the link target.
    public var isSymbolicLink: Bool {
        guard let mode = unixMode else { return false }
        return mode & 0o170000 == 0o120000
    }
}

/// A zip compression method number (`ZIP_CM_*`). A struct, so unknown methods in hostile archives stay visible.
public struct ZipCompressionMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method number from the header.
    public let rawValue: UInt16
    /// Wraps a method number.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `ZIP_CM_STORE`: no compression.
    public static let store = ZipCompressionMethod(rawValue: 0)
    /// `ZIP_CM_DEFLATE`.
    public static let deflate = ZipCompressionMethod(rawValue: 8)

    public var description: String {
        switch self {
        case .store: "store"
        case .deflate: "deflate"
        default: "method \(rawValue)"
        }
    }
}

/// A zip encryption method number (`ZIP_EM_*`).
public struct ZipEncryptionMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method number libzip derives from the headers.
    public let rawValue: UInt16
    /// Wraps a method number.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `ZIP_EM_NONE`: not encrypted.
    public static let none = ZipEncryptionMethod(rawValue: 0)
    /// `ZIP_EM_TRAD_PKWARE`: traditional PKWARE encryption (general purpose flag bit 0).
    public static let traditionalPKWARE = ZipEncryptionMethod(rawValue: 1)

    public var description: String {
        switch self {
        case .none: "none"
        case .traditionalPKWARE: "traditional PKWARE"
        default: "method \(rawValue)"
        }
    }
}
