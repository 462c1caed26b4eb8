internal import CModelSyncZip
import Foundation

/// Where the data of an entry ``ZipWriter`` streams comes from: libzip pulls it, in order, while the archive
/// is written (`zip_close`), so the source sees exactly the bytes that go into the archive.
///
/// A source may throw from any step; ``ZipWriter/commit()`` then fails with that error (not libzip's
/// generic read error) and leaves no archive behind.
protocol ZipEntrySource: AnyObject {
    /// The size the entry declares (`zip_stat_t.size`).
    var size: UInt64 { get }
    /// Prepares for reading from the start (libzip calls it once per archive write).
    func open() throws
    /// Fills the front of `buffer`; 0 at the end of the data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Called after the last read. libzip 1.7 does not fail the archive for an error here: a source checks
    /// what it handed over in ``read(into:)``, as the last byte goes.
    func close() throws
}

/// The context of one `zip_source_function` source: the Swift source, the error it threw, and the libzip
/// error reported for it. Retained by the source until `ZIP_SOURCE_FREE`.
final class ZipSourceContext {
    let source: any ZipEntrySource
    /// The first error the source threw; ``ZipWriter`` rethrows it.
    var failure: (any Error)?
    private var error = zip_error_t()

    init(_ source: any ZipEntrySource) {
        self.source = source
        zip_error_init(&error)
    }

    deinit { zip_error_fini(&error) }

    /// Runs one libzip command (`zip_source_callback`); -1 with the error set on failure.
    func handle(_ data: UnsafeMutableRawPointer?, _ length: UInt64, _ command: zip_source_cmd_t) -> Int64 {
        do {
            switch command {
            case ZIP_SOURCE_OPEN:
                try source.open()
                return 0
            case ZIP_SOURCE_READ:
                guard let data else { return 0 }
                let count = Int(min(length, UInt64(Int.max)))
                return Int64(try source.read(into: UnsafeMutableRawBufferPointer(start: data, count: count)))
            case ZIP_SOURCE_CLOSE:
                try source.close()
                return 0
            case ZIP_SOURCE_STAT:
                guard let data, length >= UInt64(MemoryLayout<zip_stat_t>.size) else { return -1 }
                let stat = data.assumingMemoryBound(to: zip_stat_t.self)
                zip_stat_init(stat)
                stat.pointee.size = source.size
                stat.pointee.valid |= UInt64(ZIP_STAT_SIZE)
                return Int64(MemoryLayout<zip_stat_t>.size)
            case ZIP_SOURCE_ERROR:
                guard let data else { return -1 }
                return zip_error_to_data(&error, data, length)
            case ZIP_SOURCE_FREE:
                return 0
            case ZIP_SOURCE_SUPPORTS:
                // ZIP_SOURCE_SUPPORTS_READABLE, a macro Swift does not import.
                let commands = [ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SUPPORTS]
                return commands.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1.rawValue)) }
            default:
                zip_error_set(&error, ZIP_ER_OPNOTSUPP, 0)
                return -1
            }
        } catch {
            if failure == nil { failure = error }
            zip_error_set(&self.error, ZIP_ER_READ, (error as? IOError)?.errno ?? 0)
            return -1
        }
    }
}

/// The C trampoline: `userdata` is an unretained ``ZipSourceContext`` kept alive by its ``ZipWriter``.
let zipSourceCallback: zip_source_callback = { userdata, data, length, command in
    guard let userdata else { return -1 }
    return Unmanaged<ZipSourceContext>.fromOpaque(userdata).takeUnretainedValue().handle(data, length, command)
}
