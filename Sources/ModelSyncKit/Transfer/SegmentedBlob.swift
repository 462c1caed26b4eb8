import Foundation

extension BlobSink {
    /// A new, empty blob for `entry` whose bytes arrive as segments at their offsets, from several threads.
    public func openSegmented(_ entry: ManifestEntry) throws -> SegmentedBlob {
        SegmentedBlob(entry: entry, writer: try ObjectWriter(store: objects), sink: self)
    }
}

/// One blob fetched in byte ranges at once (a download manager's segments): each range is written at its
/// offset into one temp file in the store's `tmp/`; ``finish()`` hashes the complete file once (read back
/// from the page cache) and links it in only when digest and size match the entry.
///
/// `@unchecked Sendable`: every use of the writer goes through `lock`, and a finished or abandoned blob
/// refuses further writes, so a late segment can never write into a closed or reused descriptor.
public final class SegmentedBlob: @unchecked Sendable {
    /// The manifest entry this blob must match.
    public let entry: ManifestEntry
    private let lock = NSLock()
    private var writer: ObjectWriter?
    private let sink: BlobSink

    fileprivate init(entry: ManifestEntry, writer: ObjectWriter, sink: BlobSink) {
        self.entry = entry
        self.writer = writer
        self.sink = sink
    }

    /// Writes `chunk` at `offset`. Bytes past the entry's size are an integrity error at once, so a hostile
    /// source cannot fill the disk.
    public func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard offset + UInt64(chunk.count) <= entry.size else {
            sink.markFailed(entry)
            throw IntegrityError(.sizeMismatch, "object \(entry.digest): the source sent bytes past the \(entry.size) "
                                 + "bytes the manifest lists")
        }
        try lock.withLock {
            guard let writer else { throw SegmentedBlobClosed() }
            try writer.write(chunk, at: offset)
        }
        sink.advanced(by: Int64(chunk.count))
    }

    /// Takes back the progress of `count` bytes a segment received and will receive again.
    public func discard(_ count: UInt64) {
        sink.advanced(by: -Int64(count))
    }

    /// Hashes the complete file, checks digest and size against the entry and links the object into the store.
    @discardableResult
    public func finish() throws -> ObjectStore.Insertion {
        try lock.withLock {
            guard let writer else { throw SegmentedBlobClosed() }
            self.writer = nil
            do {
                let insertion = try writer.commitHashingBack(size: entry.size, expected: entry.digest)
                sink.stored(insertion)
                return insertion
            } catch {
                sink.markFailed(entry)
                throw error
            }
        }
    }

    /// Removes the temp file and takes back the progress of `received` bytes; the store is left as it was.
    public func abandon(received: UInt64 = 0) {
        lock.withLock {
            writer?.abandon()
            writer = nil
        }
        discard(received)
    }
}

/// Thrown into a segment still writing after its blob was finished or abandoned.
struct SegmentedBlobClosed: Error {}
