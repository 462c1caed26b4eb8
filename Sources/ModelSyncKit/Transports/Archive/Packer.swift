#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// What `pack` wrote.
public struct PackResult: Sendable, Equatable {
    /// The archive's path.
    public let archive: String
    /// The SHA-256 of the whole archive file.
    public let archiveSHA256: Digest
    /// The archive's size in bytes.
    public let archiveSize: UInt64
    /// The digest of the manifest it carries.
    public let manifest: Digest
    /// How many blobs it carries (those not in the `have` list).
    public let objects: Int
    /// Their total size.
    public let objectBytes: UInt64
    /// Files of the models folder left out of the set (secrets, `.modelsyncignore`).
    public var excluded: [ModelSetExclusion] = []
}

/// Builds a deterministic delta archive from a models folder: `manifest.json` plus the blobs the client lacks.
///
/// The same folder and `have` list always give byte-identical archives: entries sorted (manifest first,
/// then objects by digest), fixed timestamps and attributes (``ZipWriter``). Blobs that look incompressible
/// (more than 7.5 bits of entropy per byte in their first MiB) are stored, the rest deflated; libzip writes
/// zip64 records past 4 GiB. The archive is written to a temp file beside `archivePath` and renamed into place;
/// each blob is hashed again as it is written into the archive, and any difference from the manifest refuses
/// the whole archive (nothing appears at `archivePath`).
/// No store is needed: the worker hashes the folder, and the entries stream from the folder's files.
///
/// ```swift
/// let result = try Packer().pack(modelsDir: "models", to: "/tmp/delta.zip", have: clientHas)
/// ```
public struct Packer: Sendable {
    /// Entropy (bits per byte) above which a blob is stored rather than deflated.
    public static let storeEntropyThreshold = 7.5

    /// Called with a blob's path after its first chunk went into the archive (tests rewrite the file there).
    var afterFirstRead: (@Sendable (String) -> Void)?

    /// A packer.
    public init() {}

    /// Hashes `modelsDir` and writes the delta archive to `archivePath`, leaving out blobs listed in `have`.
    ///
    /// With `signer`, the archive also carries the manifest's signature and a release of channel
    /// ``ArchiveLayout/channel`` whose sequence is its issue time in seconds (a worker keeps no state, and
    /// a later pack is always a higher release), so a client refuses an archive replayed from an older job.
    public func pack(modelsDir: String, to archivePath: String, have: Set<Digest> = [], signer: ReleaseSigner? = nil,
                     progress: ProgressHandler? = nil) throws -> PackResult {
        let root = FileSystem.absolute(modelsDir)
        guard let info = try FileSystem.status(root), FileSystem.isDirectory(info) else {
            throw UsageError("models folder \(root) does not exist or is not a directory",
                             hint: "pass --models-dir with the folder the training command writes")
        }
        // The same walk and name rules as `import`: the archive carries exactly the set `import` would record.
        let (files, excluded) = try DirectoryWalker().modelSetFiles(under: root, filter: ModelSetFilter(root: root))
        let hashes = try ParallelWork.map(count: files.count) { item in
            try ObjectStore.hashFile(at: files[item].absolutePath)
        }
        var entries: [ManifestEntry] = []
        var sources: [Digest: (path: String, size: UInt64)] = [:]
        for (file, hash) in zip(files, hashes) {
            entries.append(ManifestEntry(path: file.relativePath, size: hash.size, digest: hash.digest,
                                         mode: file.isExecutable ? .executable : .regular))
            if sources[hash.digest] == nil { sources[hash.digest] = (file.absolutePath, hash.size) }
        }
        let manifest = try Manifest(files: entries)

        let target = FileSystem.absolute(archivePath)
        let directory = (target as NSString).deletingLastPathComponent
        let manifestFile = directory + "/.manifest-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        try FileSystem.writeAtomically(manifest.canonicalBytes, to: manifestFile)
        defer { unlink(manifestFile) }

        let writer = try ZipWriter(creatingAt: target)
        try writer.addFile(at: manifestFile, as: ArchiveLayout.manifestName, compression: .deflate)
        var signatureFiles: [String] = []
        defer { signatureFiles.forEach { unlink($0) } }
        for (file, bytes) in signer.map({ Self.signatureFiles(for: manifest.digest, signer: $0) }) ?? [] {
            let path = directory + "/.signature-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
            try FileSystem.writeAtomically(bytes, to: path)
            signatureFiles.append(path)
            try writer.addFile(at: path, as: file.relativePath, compression: .deflate)
        }
        let carried = sources.keys.filter { !have.contains($0) }.sorted()
        var objectBytes: UInt64 = 0
        for digest in carried {
            let source = sources[digest]!
            // Hashed again as it goes into the archive: a file rewritten since the pass above fails the
            // commit, and no archive appears (the client would reject an entry that does not match its name).
            try writer.addEntry(from: PackedFileSource(path: source.path, digest: digest, size: source.size,
                                                       afterFirstRead: afterFirstRead),
                                as: ArchiveLayout.objectName(digest),
                                compression: try Self.compression(forFileAt: source.path))
            objectBytes += source.size
        }
        progress?(Progress(phase: "packing", completed: 0, total: objectBytes))
        try writer.commit()
        progress?(Progress(phase: "packing", completed: objectBytes, total: objectBytes))
        let archiveHash = try ObjectStore.hashFile(at: target)
        return PackResult(archive: target, archiveSHA256: archiveHash.digest, archiveSize: archiveHash.size,
                          manifest: manifest.digest, objects: carried.count, objectBytes: objectBytes,
                          excluded: excluded)
    }

    /// The manifest's signature file and the archive channel's release, as an archive carries them.
    static func signatureFiles(for manifest: Digest, signer: ReleaseSigner) -> [(SignatureFile, [UInt8])] {
        let issued = signer.now()
        let release = ReleaseStatement(channel: ArchiveLayout.channel, manifest: manifest,
                                       sequence: Int(issued.timeIntervalSince1970), issued: issued,
                                       expires: issued.addingTimeInterval(signer.expiresSec))
        return [(.manifest(manifest), signer.manifestSignature(manifest)),
                (.release(channel: ArchiveLayout.channel), signer.releaseSignature(release))]
    }

    /// Store when the first MiB looks random (compressed or quantized weights gain nothing from deflate).
    static func compression(forFileAt path: String) throws -> ZipCompressionMethod {
        let descriptor = try FileSystem.open(path, O_RDONLY)
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        while filled < buffer.count {
            let count = try FileSystem.read(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), path: path)
            if count == 0 { break }
            filled += count
        }
        return entropy(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) > storeEntropyThreshold ? .store : .deflate
    }

    /// Shannon entropy of the bytes, in bits per byte (0 for an empty buffer).
    static func entropy(_ bytes: UnsafeRawBufferPointer) -> Double {
        guard !bytes.isEmpty else { return 0 }
        var counts = [Int](repeating: 0, count: 256)
        for byte in bytes { counts[Int(byte)] += 1 }
        let total = Double(bytes.count)
        var bits = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / total
            bits -= p * log2(p)
        }
        return bits
    }

    /// Reads a `have` list: a JSON array of digests, or one digest per line (blank lines and `#` comments
    /// skipped); bare hex is accepted.
    public static func readHaveList(at path: String) throws -> Set<Digest> {
        let bytes = try FileSystem.readAll(path)
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var items: [String] = []
        if trimmed.hasPrefix("[") {
            guard case .array(let values)? = try? JSONValue.decode(bytes),
                  case let strings = values.compactMap(\.stringValue), strings.count == values.count else {
                throw UsageError("\(path) is not a JSON array of digests", hint: "write [\"sha256:…\", …] or one digest per line")
            }
            items = strings
        } else {
            items = trimmed.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        var digests = Set<Digest>()
        for (number, item) in items.enumerated() {
            do {
                digests.insert(try Digest(parsing: item, allowBareHex: true))
            } catch {
                throw UsageError("\(path): item \(number + 1) is not a digest: \(item.debugDescription)",
                                 hint: "digests are sha256:<64 lowercase hex>")
            }
        }
        return digests
    }
}
