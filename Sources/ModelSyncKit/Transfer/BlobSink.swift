/// Where a source delivers the blobs a pull fetches: each blob streams into its own ``IncomingBlob``, which
/// hashes the bytes on the way in and links the object into the store only when digest and size match.
///
/// A source may fill several blobs at once from several threads (a Git LFS or OCI transport runs N
/// transfers in parallel); the sink gathers what was stored and the byte progress under a lock.
public final class BlobSink: Sendable {
    private struct State: Sendable {
        var insertions: [ObjectStore.Insertion] = []
        var completed: UInt64 = 0
        var failedEntry: ManifestEntry?
    }

    let objects: ObjectStore
    private let state = Locked(State())
    /// The bytes of every blob the pull fetches.
    public let total: UInt64
    private let progress: ProgressHandler?

    init(objects: ObjectStore, total: UInt64, progress: ProgressHandler?) {
        self.objects = objects
        self.total = total
        self.progress = progress
    }

    /// A new, empty blob for `entry` in the store's `tmp/`.
    public func open(_ entry: ManifestEntry) throws -> IncomingBlob {
        IncomingBlob(entry: entry, writer: try ObjectWriter(store: objects), sink: self)
    }

    /// Notes that fetching `entry` failed, so an integrity error is reported with the entry it concerns.
    /// The first failure wins: later ones are usually the transfers cancelled because of it.
    public func markFailed(_ entry: ManifestEntry) {
        state.withLock { if $0.failedEntry == nil { $0.failedEntry = entry } }
    }

    /// Stores `entry` from a file this process already hashed and verified against it (a download staged
    /// before the store lock): linked where the filesystem allows, else copied and hashed again on the way
    /// in like any other blob.
    public func adopt(_ entry: ManifestEntry, verifiedFileAt path: String) throws {
        do {
            let insertion: ObjectStore.Insertion
            if let linked = try objects.adopt(verifiedFileAt: path, digest: entry.digest, size: entry.size) {
                insertion = linked
            } else {
                insertion = try objects.insert(fileAt: path, expected: entry.digest)
                guard insertion.size == entry.size else {
                    throw IntegrityError(.sizeMismatch, "object \(entry.digest): expected \(entry.size) bytes, got \(insertion.size)")
                }
            }
            stored(insertion)
            advanced(by: Int64(entry.size))
        } catch {
            markFailed(entry)
            throw error
        }
    }

    /// The objects stored so far.
    var insertions: [ObjectStore.Insertion] { state.withLock { $0.insertions } }
    /// The entry whose fetch failed first, if any.
    var failedEntry: ManifestEntry? { state.withLock { $0.failedEntry } }

    func advanced(by count: Int64) {
        let completed = state.withLock { current -> UInt64 in
            current.completed = UInt64(max(0, Int64(current.completed) + count))
            return current.completed
        }
        progress?(Progress(phase: "fetching", completed: min(completed, total), total: total))
    }

    func stored(_ insertion: ObjectStore.Insertion) {
        state.withLock { $0.insertions.append(insertion) }
    }
}

/// One blob being fetched: bytes appended in order, hashed on the way in, then `finish` verifies and links.
///
/// Confined to one thread at a time. A transfer that drops may resume by appending from ``written`` (an HTTP
/// Range request); a server that ignores the range sends the whole blob again, after ``restart()``.
public final class IncomingBlob {
    /// The manifest entry this blob must match.
    public let entry: ManifestEntry
    private var writer: ObjectWriter
    private let sink: BlobSink
    /// The bytes received so far.
    public private(set) var written: UInt64 = 0

    fileprivate init(entry: ManifestEntry, writer: ObjectWriter, sink: BlobSink) {
        self.entry = entry
        self.writer = writer
        self.sink = sink
    }

    /// Appends the next bytes of the blob. More bytes than the manifest's size is an integrity error at once,
    /// so a hostile source cannot fill the disk.
    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard written + UInt64(chunk.count) <= entry.size else {
            sink.markFailed(entry)
            writer.abandon()
            throw IntegrityError(.sizeMismatch, "object \(entry.digest): the source sent more than the \(entry.size) "
                                 + "bytes the manifest lists")
        }
        try writer.write(chunk)
        written += UInt64(chunk.count)
        sink.advanced(by: Int64(chunk.count))
    }

    /// Discards the bytes received so far and starts the blob over.
    public func restart() throws {
        writer.abandon()
        writer = try ObjectWriter(store: sink.objects)
        sink.advanced(by: -Int64(written))
        written = 0
    }

    /// Checks digest and size against the entry and links the object into the store.
    @discardableResult
    public func finish() throws -> ObjectStore.Insertion {
        do {
            let insertion = try writer.commit(expected: entry.digest, expectedSize: entry.size)
            sink.stored(insertion)
            return insertion
        } catch {
            sink.markFailed(entry)
            throw error
        }
    }

    /// Removes the temp file; the store is left as it was for this blob.
    public func abandon() {
        writer.abandon()
    }
}

@available(*, unavailable)
extension IncomingBlob: Sendable {}
