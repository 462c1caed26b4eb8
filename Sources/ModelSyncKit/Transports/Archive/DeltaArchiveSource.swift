/// A delta archive as a ``TransferSource``: `manifest.json` at its root and the blobs the job's client lacked
/// under `objects/sha256/<ab>/<hex>` (DESIGN.md "RunPod").
///
/// Making one checks the archive's layout against its manifest before a byte is written: only those two kinds
/// of entries, every object referenced by the manifest with the size the manifest gives. Its one channel is
/// the manifest it carries. Nothing it fetched stays in the store when a later entry fails.
///
/// Confined to one task, like the ``ZipArchive`` it reads.
public final class DeltaArchiveSource: TransferSource {
    /// The name of the archive's only channel: the manifest it carries.
    public static let channelName = ArchiveLayout.manifestName

    let archive: ZipArchive
    /// The manifest the archive carries, validated.
    public let manifest: Manifest
    private let manifestBytes: [UInt8]
    /// The object entries, by digest.
    private let objects: [Digest: ZipEntry]
    /// Signature files (docs/signing.md), by name.
    private let signatures: [String: ZipEntry]

    /// Reads and checks the layout of `archive`, whose entries ``ArchiveImporter`` has already vetted.
    init(archive: ZipArchive) throws {
        self.archive = archive
        var objects: [Digest: ZipEntry] = [:]
        var manifestEntry: ZipEntry?
        var signatures: [String: ZipEntry] = [:]
        for entry in archive.entries {
            if entry.isDirectory {
                guard ArchiveLayout.isDeltaDirectory(entry.name) else {
                    throw Self.reject(archive, "unexpected directory \(entry.name.debugDescription) in a delta archive")
                }
            } else if entry.name == ArchiveLayout.manifestName {
                manifestEntry = entry
            } else if let digest = ArchiveLayout.digest(fromObjectName: entry.name) {
                objects[digest] = entry
            } else if ArchiveLayout.isSignatureName(entry.name), entry.size <= ArchiveLayout.maxSignatureBytes {
                signatures[entry.name] = entry
            } else {
                throw Self.reject(archive, "unexpected entry \(entry.name.debugDescription) in a delta archive "
                                  + "(only manifest.json, objects/sha256/<2 hex>/<64 hex> and signature files)")
            }
        }
        guard let manifestEntry else { throw Self.reject(archive, "it has no manifest.json") }
        manifestBytes = try archive.contents(of: manifestEntry, limit: UInt64(Manifest.maxEncodedBytes))
        do {
            manifest = try Manifest.decode(manifestBytes)
        } catch {
            throw Self.reject(archive, "manifest.json: \(error.message)")
        }
        try Self.checkObjects(objects, against: manifest, in: archive)
        self.objects = objects
        self.signatures = signatures
    }

    /// Every object entry is referenced by the manifest, with the size the manifest gives.
    private static func checkObjects(_ objects: [Digest: ZipEntry], against manifest: Manifest, in archive: ZipArchive) throws {
        var sizes: [Digest: UInt64] = [:]
        for file in manifest.files { sizes[file.digest] = file.size }
        for (digest, entry) in objects.sorted(by: { $0.key < $1.key }) {
            guard let size = sizes[digest] else {
                throw reject(archive, "object \(digest) is not referenced by manifest.json")
            }
            guard entry.size == size else {
                throw reject(archive, "object \(digest) declares \(entry.size) bytes, the manifest says \(size)")
            }
        }
    }

    static func reject(_ archive: ZipArchive, _ reason: String) -> IntegrityError {
        IntegrityError(.invalidArchive, "archive \(archive.path) rejected: \(reason)",
                       hint: "the archive is corrupt or hostile; nothing was imported and the active set is unchanged")
    }

    public func channel(_ name: String) throws -> Digest { manifest.digest }

    public func manifestBytes(_ digest: Digest) throws -> [UInt8] { manifestBytes }

    public func signatureBytes(_ file: SignatureFile) throws -> [UInt8]? {
        guard let entry = signatures[file.relativePath] else { return nil }
        return try archive.contents(of: entry, limit: ArchiveLayout.maxSignatureBytes)
    }

    public func signatureLocation(_ file: SignatureFile) -> String { "archive \(archive.path)'s \(file.relativePath)" }

    /// Every blob the store lacks must be in the archive. The objects the store already holds are read too,
    /// before anything is written, so a corrupt entry condemns the archive whatever the store holds.
    public func checkAvailable(_ missing: [ManifestEntry], of manifest: Manifest) throws {
        let absent = missing.filter { objects[$0.digest] == nil }
        if !absent.isEmpty {
            let names = absent.prefix(5).map { "\($0.digest) (\($0.path))" }.joined(separator: ", ")
            throw IntegrityError(.missingObject,
                                 "archive \(archive.path) rejected: the manifest needs \(absent.count) object(s) that are neither in the archive nor in the store: \(names)",
                                 hint: "the job packed against a `have` list this store no longer satisfies; pull again")
        }
        let fetched = Set(missing.map(\.digest))
        for (digest, entry) in objects.sorted(by: { $0.key < $1.key }) where !fetched.contains(digest) {
            try archive.read(entry: entry) { _ in }
        }
    }

    public func readBlob(_ entry: ManifestEntry, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let zipEntry = objects[entry.digest] else {
            throw IntegrityError(.missingObject, "archive \(archive.path) has no \(ArchiveLayout.objectName(entry.digest))")
        }
        try archive.read(entry: zipEntry, into: body)
    }

    public func describe(_ failure: IntegrityError, entry: ManifestEntry?) -> IntegrityError {
        guard failure.code == .digestMismatch || failure.code == .sizeMismatch else { return failure }
        return Self.reject(archive, failure.message)
    }

    /// A rejected archive leaves the store as it was.
    public var keepsVerifiedBlobsOnFailure: Bool { false }
}

@available(*, unavailable)
extension DeltaArchiveSource: Sendable {}
