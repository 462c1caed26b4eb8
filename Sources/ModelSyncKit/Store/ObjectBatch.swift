#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
import Foundation

/// Many small objects made durable together: the object store's write protocol, a round at a time.
///
/// One fsync per object (and one per fan-out directory) costs a journal commit each, which for a folder of
/// 200,000 small files is most of an import. A batch takes the same steps for a whole round instead:
///
/// 1. ``stage(fileAt:copied:)`` (any thread): copy and hash each file into its own temp file in `tmp/`,
///    read-only, **not** synced — nothing under `objects/` yet;
/// 2. ``commit()``: one `syncfs(2)` of the store's filesystem makes every staged temp file durable (an fsync
///    each where `syncfs` cannot report errors, before Linux 5.8, or on a filesystem whose `syncfs` may not
///    cover them: ``DurableFile/filesystemSyncCovers(_:)``);
/// 3. each temp file is renamed to its object's name, never replacing one (`RENAME_NOREPLACE`, else `link(2)`);
/// 4. each fan-out directory that gained a name is fsynced once (and `objects/sha256` when a fan-out
///    directory was created).
///
/// Only then does ``commit()`` return, so a caller that records the round's objects in the index afterwards
/// never records one that is not on disk. A crash before step 3 leaves temp files only; during step 3, names
/// whose bytes were already durable. Large objects gain nothing from batching and go through
/// ``ObjectStore/insert(fileAt:expected:copied:)`` (``largeObjectBytes``).
///
/// Staging is thread-safe. A round is taken (``takeRound()``) between rounds of staging and committed while
/// the next one is staged, so that the disk writes back one round while the next is hashed; rounds are
/// committed one at a time, in order (``RoundCommit``).
final class ObjectBatch: Sendable {
    /// Files up to this size are staged; larger ones are stored on their own, whose fsync costs little next
    /// to their bytes and starts their writeback early.
    static let largeObjectBytes: UInt64 = 1 << 20
    /// The most objects one round holds: bounds the temp files a crash can leave and the list kept meanwhile.
    static let maximumCount: Int = {
        #if DEBUG
        // Crash tests shrink rounds (`MODEL_SYNC_BATCH_OBJECTS`) to kill an import between two of them.
        if let forced = ProcessInfo.processInfo.environment["MODEL_SYNC_BATCH_OBJECTS"].flatMap(Int.init), forced > 0 {
            return forced
        }
        #endif
        return 8192
    }()
    /// The most bytes one round holds: bounds the dirty data one `syncfs` waits for.
    static let maximumBytes: UInt64 = 128 << 20

    /// One step of ``commit()``, as seen by ``observer`` (tests check their order).
    enum Step: Sendable, Equatable {
        /// The round's temp files are durable (`count` of them).
        case synced(count: Int)
        /// An object got its name (`created` false: it was there already and the temp file went).
        case placed(Digest, created: Bool)
        /// The fan-out directories that gained a name are durable.
        case directoriesSynced([String])
        /// A caller recorded `count` objects in the index (emitted by the importer, after its transaction).
        case recorded(count: Int)
    }

    /// Receives every ``Step`` of the batches committed in its scope (tests only; nil otherwise).
    @TaskLocal static var observer: (@Sendable (Step) -> Void)?

    /// One staged object: its name, size, and sealed temp file (nil when the store already holds it).
    fileprivate struct Staged: Sendable {
        var digest: Digest
        var size: UInt64
        var temporaryPath: String?
    }

    let store: ObjectStore
    private let staged = Locked<[Staged]>([])
    /// Fan-out directories known to exist, so each is created (and its creation synced) once per import.
    private let knownFanouts = Locked<Set<String>>([])
    /// `tmp/`, opened before the first temp file is written: `syncfs` on it reports any writeback error of
    /// the filesystem from that moment on.
    private let filesystem: Int32
    /// True: one `syncfs` per round; false: an fsync of each temp file (``DurableFile/filesystemSyncCovers(_:)``).
    let syncsFilesystem: Bool

    /// A batch writing into `store` (whose `tmp/` must exist). `syncsFilesystem` overrides the choice between
    /// one `syncfs` per round and an fsync per file (tests).
    init(store: ObjectStore, syncsFilesystem: Bool? = nil) throws(IOError) {
        self.store = store
        filesystem = try FileSystem.open(store.layout.tmp, O_RDONLY | O_DIRECTORY)
        self.syncsFilesystem = syncsFilesystem ?? DurableFile.filesystemSyncCovers(filesystem)
    }

    deinit {
        abandon()
        close(filesystem)
    }

    /// Copies and hashes the file at `path` into a temp file of this round, without syncing it; returns its
    /// ticket (its position in the list ``commit()`` returns) and size. Safe to call from many threads.
    func stage(fileAt path: String, copied report: ((UInt64) -> Void)? = nil) throws -> (ticket: Int, size: UInt64) {
        let writer = try ObjectWriter(store: store)
        do {
            try store.fill(writer, fromFileAt: path, copied: report)
        } catch {
            writer.abandon()
            throw error
        }
        return try stage(writer)
    }

    /// Stages the object a caller wrote through `writer` (bytes streamed from elsewhere), checked against
    /// `expected` and `expectedSize` as ``ObjectWriter/commit(expected:expectedSize:)`` checks them; returns
    /// its ticket and size. The writer is done with afterwards. Safe to call from many threads.
    func stage(_ writer: ObjectWriter, expected: Digest? = nil, expectedSize: UInt64? = nil) throws -> (ticket: Int, size: UInt64) {
        let sealed: (digest: Digest, size: UInt64, temporaryPath: String?)
        do {
            sealed = try writer.seal(expected: expected, expectedSize: expectedSize)
        } catch {
            writer.abandon()
            throw error
        }
        let ticket = staged.withLock { list in
            list.append(Staged(digest: sealed.digest, size: sealed.size, temporaryPath: sealed.temporaryPath))
            return list.count - 1
        }
        return (ticket, sealed.size)
    }

    /// The objects staged since the last round was taken; staging goes on into a new round.
    struct Round: Sendable {
        fileprivate let items: [Staged]
    }

    /// Takes the objects staged so far as one round, to commit with ``commit(_:observer:)`` — on another
    /// thread if need be, while the next round is staged (its tickets start again at 0).
    func takeRound() -> Round {
        Round(items: staged.withLock { list in
            defer { list = [] }
            return list
        })
    }

    /// Takes the round staged so far and commits it on this thread.
    func commit() throws -> [ObjectStore.Insertion] {
        try commit(takeRound(), observer: Self.observer)
    }

    /// Makes the round's objects durable and names them (steps 2–4 above); returns one insertion per
    /// ticket. On failure the round's temp files are removed, and so are the objects it had named (none is
    /// recorded anywhere yet). Rounds are committed one at a time, in order.
    func commit(_ taken: Round, observer observe: (@Sendable (Step) -> Void)?) throws -> [ObjectStore.Insertion] {
        let round = taken.items
        var insertions = round.map { ObjectStore.Insertion(digest: $0.digest, size: $0.size, created: false) }
        let waiting = round.indices.filter { round[$0].temporaryPath != nil }
        guard !waiting.isEmpty else { return insertions }
        var named: [Digest] = []
        // Temp files already renamed or removed: a failure removes only the others (another round's new temp
        // file may have taken a freed name meanwhile).
        var handled = 0
        do {
            FaultInjection.point("import-staged")
            try syncTemporaryFiles(waiting.map { round[$0].temporaryPath! })
            observe?(.synced(count: waiting.count))
            FaultInjection.point("import-synced")
            var gained = Set<String>()
            var createdFanout = false
            for (step, position) in waiting.enumerated() {
                if step == waiting.count / 2 { FaultInjection.point("import-naming") }
                let item = round[position]
                let directory = store.layout.objects + "/sha256/" + item.digest.fanout
                if try makeFanout(directory) { createdFanout = true }
                let created = try name(item.temporaryPath!, as: store.layout.objectPath(item.digest))
                handled += 1
                observe?(.placed(item.digest, created: created))
                guard created else { continue }
                insertions[position] = .init(digest: item.digest, size: item.size, created: true)
                named.append(item.digest)
                gained.insert(directory)
            }
            FaultInjection.point("import-named")
            let directories = gained.sorted() + (createdFanout ? [store.layout.objects + "/sha256"] : [])
            for directory in directories { try FileSystem.sync(directory, directory: true) }
            observe?(.directoriesSynced(directories))
            return insertions
        } catch {
            for position in waiting.dropFirst(handled) { if let path = round[position].temporaryPath { unlink(path) } }
            for digest in named { try? store.remove(digest) }
            throw error
        }
    }

    /// Removes the temp files staged since the last ``commit()``.
    func abandon() {
        let round = staged.withLock { list in
            defer { list = [] }
            return list
        }
        for item in round { if let path = item.temporaryPath { unlink(path) } }
    }

    /// Splits items of the given sizes, in order, into rounds of at most ``maximumCount`` items and
    /// ``maximumBytes`` bytes (an item larger than that alone in its round).
    static func rounds(count: Int, size: (Int) -> UInt64) -> [Range<Int>] {
        var rounds: [Range<Int>] = []
        var start = 0
        var bytes: UInt64 = 0
        for item in 0..<count {
            let itemBytes = size(item)
            if item > start, item - start >= maximumCount || bytes + itemBytes > maximumBytes {
                rounds.append(start..<item)
                (start, bytes) = (item, 0)
            }
            bytes += itemBytes
        }
        if count > start { rounds.append(start..<count) }
        return rounds
    }

    // MARK: steps

    /// Step 2: one `syncfs`, or an fsync of each file where `syncfs` would not cover them or not report a
    /// failed writeback.
    private func syncTemporaryFiles(_ paths: [String]) throws(IOError) {
        if syncsFilesystem {
            try DurableFile.syncFilesystem(holding: filesystem, path: store.layout.tmp)
        } else {
            for path in paths { try FileSystem.sync(path) }
        }
    }

    /// Creates a fan-out directory once; true when this call created it (its parent must then be synced).
    private func makeFanout(_ directory: String) throws(IOError) -> Bool {
        if knownFanouts.withLock({ $0.contains(directory) }) { return false }
        let created = try DurableFile.makeDirectory(directory)
        knownFanouts.withLock { _ = $0.insert(directory) }
        return created
    }

    /// Step 3 for one object: renames the durable temp file to `target` unless a file is there already (then
    /// the temp file goes); true when it named the object.
    private func name(_ temporaryPath: String, as target: String) throws(IOError) -> Bool {
        if CModelSyncSystem_rename_noreplace(temporaryPath, target) == 0 { return true }
        let failure = IOError.current("rename", target)
        if failure.errno == EEXIST {
            unlink(temporaryPath)
            return false
        }
        // Filesystems without RENAME_NOREPLACE: link(2), which never replaces a name either.
        guard [EINVAL, ENOSYS, EOPNOTSUPP].contains(failure.errno) else { throw failure }
        let created = try DurableFile.place(temporaryPath, at: target, placement: .keepExisting)
        unlink(temporaryPath)
        return created
    }
}

/// One round's ``ObjectBatch/commit(_:observer:)`` running on a thread of its own, so the importer stages the
/// next round meanwhile; ``wait()`` returns its insertions or rethrows its error.
final class RoundCommit: Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let outcome = Locked<Result<[ObjectStore.Insertion], any Error>?>(nil)

    /// Starts committing `round` of `batch`, reporting steps to `observer`.
    init(_ round: ObjectBatch.Round, of batch: ObjectBatch, observer: (@Sendable (ObjectBatch.Step) -> Void)?) {
        DispatchQueue.global().async { [finished, outcome] in
            let result = Result { try batch.commit(round, observer: observer) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
    }

    /// Waits for the commit to end; its insertions, by ticket of the round.
    func wait() throws -> [ObjectStore.Insertion] {
        finished.wait()
        finished.signal()  // a second wait returns at once
        return try outcome.withLock { $0! }.get()
    }
}
