#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// What importing an archive stored.
public struct ArchiveImportResult: Sendable, Equatable {
    /// Which format the archive was in.
    public let format: ArchiveFormat
    /// The manifest now recorded in the store (delta: the archive's; legacy: one made for its files).
    public let manifest: Digest
    /// File blobs that were not in the store before (the manifest object is not counted).
    public let newObjects: Int
    /// Their total size.
    public let newBytes: UInt64
}

/// Imports a RunPod job's archive into the store, refusing the whole archive at the first hostile entry.
///
/// Every entry is checked against the central directory before a byte is written: names (`..`, absolute,
/// backslashes, control characters, invalid UTF-8, duplicates), symbolic links and other special files,
/// encryption, compression methods, zip bombs (an entry over 1 MiB compressed more than 200:1), the declared
/// total against `maxExtractBytes` and the free space. Data is then streamed through ``ZipArchive``, which
/// stops at an entry's declared size and checks its CRC; delta blobs must hash to their names. When a check
/// fails while streaming, the objects this import created are removed again, so a rejected archive leaves
/// the store as it was. Nothing is ever written outside the store, and no generation is touched: the caller
/// activates the returned manifest.
///
/// ```swift
/// let result = try ArchiveImporter(store: store, extractSubdir: "models").importArchive(at: downloaded)
/// try Generations(store: store, modelsDir: models).activate(result.manifest, options: options)
/// ```
public struct ArchiveImporter {
    /// An entry larger than this may not be compressed more than `maxCompressionRatio`:1.
    public static let bombThreshold: UInt64 = 1 << 20
    /// The highest compression ratio accepted for entries over `bombThreshold`.
    public static let maxCompressionRatio: UInt64 = 200

    let store: Store
    /// In a legacy archive, the folder whose files are taken (`""` or `"."`: the whole archive).
    public var extractSubdir: String
    /// The largest total of declared entry sizes accepted.
    public var maxExtractBytes: UInt64
    /// Free bytes on the store's filesystem (`statvfs`); tests inject a smaller figure.
    public var freeSpace: (String) throws -> UInt64
    /// With `signing.trusted_keys`: the signatures an archive must carry, and where accepted releases are
    /// remembered (docs/signing.md). A legacy archive, which has none, is then refused.
    public var signatures: (policy: SignaturePolicy, accepted: AcceptedReleases)?

    /// An importer into `store`.
    public init(store: Store, extractSubdir: String = "models", maxExtractBytes: UInt64 = 20 << 30,
                freeSpace: ((String) throws -> UInt64)? = nil) {
        self.store = store
        self.extractSubdir = extractSubdir
        self.maxExtractBytes = maxExtractBytes
        self.freeSpace = freeSpace ?? { try FileSystem.freeBytes($0) }
    }

    /// Checks and imports the archive at `path`; the format is detected from its entries.
    ///
    /// Throws ``ZipError`` (integrity) for archives libzip cannot read or whose data is corrupt, and
    /// `IntegrityError(.invalidArchive)` for everything model-sync refuses itself.
    public func importArchive(at path: String, progress: ProgressHandler? = nil) throws -> ArchiveImportResult {
        let archive = try ZipArchive(path: path)
        let files = try checkEntries(archive)
        if files.contains(where: { $0.rawName == Array(ArchiveLayout.manifestName.utf8) }) {
            return try importDelta(archive, progress: progress)
        }
        if signatures != nil {
            throw IntegrityError(.missingSignature, "archive \(path) is a plain (legacy) archive without signatures, "
                                 + "and signing.trusted_keys requires them",
                                 hint: "the worker must run `model-sync pack` with signing.key_env set (docs/signing.md)")
        }
        return try importLegacy(archive, files: files, progress: progress)
    }

    // MARK: checks on the central directory

    private func reject(_ archive: ZipArchive, _ reason: String) -> IntegrityError {
        DeltaArchiveSource.reject(archive, reason)
    }

    /// Validates every entry; returns the file (non-directory) entries.
    private func checkEntries(_ archive: ZipArchive) throws -> [ZipEntry] {
        var seen = Set<[UInt8]>()
        var files: [ZipEntry] = []
        var total: UInt64 = 0
        for entry in archive.entries {
            let shown = entry.name.debugDescription
            var raw = entry.rawName
            if entry.isDirectory { raw.removeLast() }
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw reject(archive, "entry \(shown) has a name that is not valid UTF-8")
            }
            if let problem = Self.nameProblem(name) {
                throw reject(archive, "entry \(shown): \(problem)")
            }
            // "a" and "a/" name the same place: one key per place.
            guard seen.insert(raw).inserted else {
                throw reject(archive, "entry \(shown) appears more than once")
            }
            if entry.isSymbolicLink {
                throw reject(archive, "entry \(shown) is a symbolic link")
            }
            if let mode = entry.unixMode, mode & 0o170000 != 0 {
                let type = mode & 0o170000
                let expected: UInt32 = entry.isDirectory ? 0o040000 : 0o100000
                if type != expected {
                    throw reject(archive, "entry \(shown) is not a regular file or directory (mode \(String(mode, radix: 8)))")
                }
            }
            if entry.isEncrypted {
                throw reject(archive, "entry \(shown) is encrypted")
            }
            guard entry.compressionMethod == .store || entry.compressionMethod == .deflate else {
                throw reject(archive, "entry \(shown) uses compression \(entry.compressionMethod), only store and deflate are accepted")
            }
            if entry.size > Self.bombThreshold
                && (entry.compressedSize == 0 || entry.size / entry.compressedSize > Self.maxCompressionRatio) {
                throw reject(archive, "entry \(shown) expands \(entry.compressedSize) bytes to \(entry.size), "
                             + "more than \(Self.maxCompressionRatio):1 (a zip bomb)")
            }
            let (sum, overflow) = total.addingReportingOverflow(entry.size)
            guard !overflow, sum <= maxExtractBytes else {
                throw reject(archive, "its entries declare more than the \(maxExtractBytes) bytes allowed by runpod.max_extract_bytes")
            }
            total = sum
            if !entry.isDirectory { files.append(entry) }
        }
        // Room for everything it may write (objects already stored are skipped, so this is an upper bound).
        let free = try freeSpace(store.layout.objects)
        guard total <= free else {
            throw OutOfSpaceError(path: store.layout.root, needed: total, available: free,
                                  what: "the entries of the archive \(archive.path)")
        }
        return files
    }

    /// The manifest's path rules, minus NFC (zip tools on macOS write decomposed names; the legacy path
    /// normalizes them, and a delta archive's object names are ASCII anyway).
    static func nameProblem(_ name: String) -> String? {
        guard let problem = ManifestPath.problem(with: name) else { return nil }
        return ManifestPath.isNFC(name) || ManifestPath.problem(with: ManifestPath.normalizedFromFilesystem(name)) != nil
            ? problem : nil
    }

    // MARK: delta

    /// Pulls the archive's manifest and the blobs the store lacks through the transfer engine.
    private func importDelta(_ archive: ZipArchive, progress: ProgressHandler?) throws -> ArchiveImportResult {
        let source = try DeltaArchiveSource(archive: archive)
        if let (policy, accepted) = signatures {
            // Checked before any blob is written; remembered once accepted, so a replayed older archive fails.
            let release = try SignatureVerifier(policy: policy).verifyRelease(
                ArchiveLayout.channel, naming: source.manifest.digest, from: source,
                accepted: try accepted.entry(ArchiveLayout.channel))
            try accepted.record(release.statement, keyIDs: release.keyIDs)
        }
        let pulled = try TransferEngine(store: store, progress: progress)
            .pull(from: source, channel: DeltaArchiveSource.channelName)
        return ArchiveImportResult(format: .delta, manifest: pulled.manifest.digest, newObjects: pulled.fetchedObjects,
                                   newBytes: pulled.fetchedBytes)
    }

    // MARK: legacy

    private func importLegacy(_ archive: ZipArchive, files: [ZipEntry], progress: ProgressHandler?) throws -> ArchiveImportResult {
        let subdir = extractSubdir.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        let prefix = subdir.isEmpty ? "" : subdir + "/"
        var taken: [(entry: ZipEntry, path: String)] = []
        var ignored: [ZipEntry] = []
        for entry in files {
            if entry.name.hasPrefix(prefix) {
                taken.append((entry, ManifestPath.normalizedFromFilesystem(String(entry.name.dropFirst(prefix.count)))))
            } else {
                ignored.append(entry)
            }
        }
        guard !taken.isEmpty else {
            throw reject(archive, "it holds no file under \(prefix.isEmpty ? "its root" : prefix) (runpod.extract_subdir)")
        }
        // The paths must make a valid manifest (no file that is also a directory, no duplicate after NFC)
        // before anything is written: check them with placeholder entries (the empty file's digest and size).
        do {
            _ = try Manifest(files: taken.map { ManifestEntry(path: $0.path, size: 0, digest: .empty) })
        } catch {
            throw reject(archive, error.message)
        }
        // Entries outside extract_subdir are not kept, but a corrupt one still condemns the archive.
        for entry in ignored {
            try archive.read(entry: entry) { _ in }
        }
        let total = taken.reduce(UInt64(0)) { $0 + $1.entry.size }
        let insertions = try writeObjects(archive, taken.map { ($0.entry, nil, $0.entry.size) }, total: total, progress: progress)
        var manifestFiles: [ManifestEntry] = []
        for ((entry, path), insertion) in zip(taken, insertions) {
            let executable = (entry.unixMode ?? 0) & 0o100 != 0
            manifestFiles.append(ManifestEntry(path: path, size: insertion.size, digest: insertion.digest,
                                               mode: executable ? .executable : .regular))
        }
        let manifest = try Manifest(files: manifestFiles)
        try store.recordObjects(insertions)
        try store.recordManifest(manifest)
        let created = Dictionary(insertions.filter(\.created).map { ($0.digest, $0.size) }, uniquingKeysWith: { a, _ in a })
        return ArchiveImportResult(format: .legacy, manifest: manifest.digest, newObjects: created.count,
                                   newBytes: created.values.reduce(0, +))
    }

    // MARK: streaming

    /// Streams entries into the store through `ObjectWriter`; on any failure removes the objects created so far.
    ///
    /// Small entries are staged in an ``ObjectBatch`` and made durable a round at a time (one filesystem sync
    /// per round instead of two fsyncs per file); large ones are stored on their own. Every object is durable
    /// and named when this returns, before the caller records any of them in the index.
    private func writeObjects(_ archive: ZipArchive, _ items: [(ZipEntry, Digest?, UInt64)], total: UInt64,
                              progress: ProgressHandler?) throws -> [ObjectStore.Insertion] {
        // Temp files a killed import left behind (up to a round of them): no later step would ever name them.
        store.objects.removeAbandonedTemporaryFiles()
        var insertions: [ObjectStore.Insertion?] = []
        insertions.reserveCapacity(items.count)
        var done: UInt64 = 0
        let batch = try ObjectBatch(store: store.objects)
        defer { batch.abandon() }  // the temp files of a round that failed
        // The staged entries of the round in progress: their position in `insertions`, by ticket.
        var round: [Int] = []
        var roundBytes: UInt64 = 0
        func commitRound() throws {
            guard !round.isEmpty else { return }
            let committed = try batch.commit()
            for (ticket, position) in round.enumerated() { insertions[position] = committed[ticket] }
            (round, roundBytes) = ([], 0)
        }
        do {
            for (entry, digest, size) in items {
                if let digest, store.objects.contains(digest) {
                    // Already stored (verified when it was written): still read it, so a corrupt entry is seen.
                    try archive.read(entry: entry) { _ in }
                    insertions.append(ObjectStore.Insertion(digest: digest, size: size, created: false))
                    continue
                }
                let writer = try ObjectWriter(store: store.objects)
                do {
                    try archive.read(entry: entry) { chunk in
                        try writer.write(chunk)
                        done += UInt64(chunk.count)
                        progress?(Progress(phase: "importing", completed: done, total: total))
                    }
                } catch {
                    writer.abandon()
                    throw error
                }
                guard writer.size <= ObjectBatch.largeObjectBytes else {
                    do {
                        insertions.append(try writer.commit(expected: digest, expectedSize: size))
                    } catch {
                        writer.abandon()
                        throw error
                    }
                    continue
                }
                let staged = try batch.stage(writer, expected: digest, expectedSize: size)
                precondition(staged.ticket == round.count, "tickets follow the round's order")
                round.append(insertions.count)
                insertions.append(nil)
                roundBytes += staged.size
                if round.count >= ObjectBatch.maximumCount || roundBytes >= ObjectBatch.maximumBytes { try commitRound() }
            }
            try commitRound()
        } catch {
            for case let insertion? in insertions where insertion.created {
                try? store.objects.remove(insertion.digest)
                // A fan-out directory this import created goes too (rmdir fails, harmlessly, when not empty).
                rmdir(store.layout.objects + "/sha256/" + insertion.digest.fanout)
            }
            if let failure = error as? IntegrityError, failure.code == .digestMismatch || failure.code == .sizeMismatch {
                throw reject(archive, failure.message)
            }
            throw error
        }
        return insertions.map { $0! }
    }
}

@available(*, unavailable)
extension ArchiveImporter: Sendable {}
