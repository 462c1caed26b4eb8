import Foundation

/// What a model set is in an OCI registry, both ways (docs/cli.md, *OCI registry*):
///
/// - published by model-sync: an image manifest with `artifactType` ``artifactType``, whose config blob is
///   the model-sync manifest's canonical bytes (so the config digest is the manifest digest), one layer per
///   file in manifest order, titled with its path, and signature files as extra layers of their own type;
/// - pushed by `oras push` (no model-sync config): a set whose manifest is built from the layers — path from
///   the title annotation, digest and size from the descriptor — and validated by the manifest's own rules.
///
/// Either way every layer is checked before a byte of a blob moves: a title that is not a valid set path, two
/// layers with one title, a missing title, a digest that is not SHA-256, a size over the manifest's limit, or
/// layers that disagree with the config's manifest are an ``IntegrityError`` (exit 3).
public enum OCISetMapping {
    /// The `artifactType` of a model set.
    public static let artifactType = "application/vnd.model-sync.set.v1"
    /// The config blob's media type: the model-sync manifest.
    public static let configMediaType = "application/vnd.model-sync.manifest.v1+json"
    /// A file layer's media type, as `oras push` gives files.
    public static let layerMediaType = "application/vnd.oci.image.layer.v1.tar"
    /// A signature file's layer (docs/signing.md).
    public static let signatureMediaType = "application/vnd.model-sync.signature.v1+json"
    /// The largest signature file read from a registry.
    public static let maxSignatureBytes = 1 << 20
    /// The media type `oras push` gives a folder (a tarball to unpack), which model-sync does not take.
    static let folderAnnotation = "io.deis.oras.content.unpack"

    /// A signature file riding as a layer: its path relative to the model folder (`manifests/sha256/<hex>.sig.json`,
    /// `channels/<name>.release.json`), digest and size.
    public struct SignatureLayer: Sendable, Hashable {
        /// The signature file's path, the layer's title.
        public let path: String
        /// The blob holding it.
        public let digest: Digest
        /// Its size in bytes.
        public let size: UInt64

        /// A signature layer.
        public init(path: String, digest: Digest, size: UInt64) {
            self.path = path
            self.digest = digest
            self.size = size
        }
    }

    /// A set as a registry's image manifest describes it.
    public struct ReadSet: Sendable, Equatable {
        /// The model-sync manifest's digest: the config blob's, or the built manifest's.
        public let digest: Digest
        /// The config blob's size, when the config is a model-sync manifest (fetched and checked by the engine).
        public let configSize: UInt64?
        /// The manifest built from the layers, for an artifact without a model-sync config.
        public let built: Manifest?
        /// The files the layers list, in layer order.
        public let files: [ManifestEntry]
        /// The signature layers, by path.
        public let signatures: [String: SignatureLayer]
        /// `org.opencontainers.image.created`.
        public let created: Date?

        /// Files and bytes of the set, from the layers.
        public var totalBytes: UInt64 { files.reduce(0) { $0 + $1.size } }
    }

    /// The image manifest that publishes `manifest`, with `signatures` as extra layers, made at `created`.
    public static func imageManifest(for manifest: Manifest, signatures: [SignatureLayer] = [],
                                     created: Date) -> OCIImageManifest {
        let config = OCIDescriptor(mediaType: configMediaType, digest: manifest.digest,
                                   size: UInt64(manifest.canonicalBytes.count))
        var layers = manifest.files.map { entry in
            OCIDescriptor(mediaType: layerMediaType, digest: entry.digest, size: entry.size,
                          annotations: [OCIImageManifest.titleAnnotation: entry.path])
        }
        layers += signatures.sorted { ManifestPath.bytewiseLess($0.path, $1.path) }.map { signature in
            OCIDescriptor(mediaType: signatureMediaType, digest: signature.digest, size: signature.size,
                          annotations: [OCIImageManifest.titleAnnotation: signature.path])
        }
        return OCIImageManifest(artifactType: artifactType, config: config, layers: layers,
                                annotations: [OCIImageManifest.createdAnnotation: OCIImageManifest.createdStamp(created)])
    }

    /// Reads the set `image` describes; `what` names it in messages (`127.0.0.1:5000/models:latest`).
    public static func read(_ image: OCIImageManifest, what: String) throws(IntegrityError) -> ReadSet {
        var files: [ManifestEntry] = []
        var signatures: [String: SignatureLayer] = [:]
        var titles = Set<String>()
        for (index, layer) in image.layers.enumerated() {
            let place = "\(what): layer \(index + 1)"
            guard let title = layer.title, !title.isEmpty else {
                throw IntegrityError(.invalidManifest, "\(place) (\(layer.digest.prefix(80))) has no \(OCIImageManifest.titleAnnotation) annotation, so it names no file",
                                     hint: "push files with `oras push` (which titles each), or publish with model-sync")
            }
            if let problem = ManifestPath.problem(with: title) {
                throw IntegrityError(.invalidManifest, "\(place): \(problem)")
            }
            guard titles.insert(title).inserted else {
                throw IntegrityError(.invalidManifest, "\(place): two layers are titled \(CanonicalJSON.quoted(title))")
            }
            if layer.annotations?[folderAnnotation] == "true" {
                throw IntegrityError(.invalidManifest, "\(place): \(CanonicalJSON.quoted(title)) is a folder packed by `oras push`, not a file",
                                     hint: "push the folder's files (oras push host/repo file1 dir/file2 …), not the folder")
            }
            let digest = try digest(of: layer, place: place)
            if layer.mediaType == signatureMediaType {
                guard layer.size <= UInt64(maxSignatureBytes) else {
                    throw IntegrityError(.invalidManifest, "\(place): signature file \(title) claims \(layer.size) bytes, more than \(maxSignatureBytes)")
                }
                signatures[title] = SignatureLayer(path: title, digest: digest, size: layer.size)
                continue
            }
            guard layer.size <= Manifest.maxFileSize else {
                throw IntegrityError(.invalidManifest, "\(place): \(CanonicalJSON.quoted(title)) claims \(layer.size) bytes, "
                                     + "more than the largest file a set may hold (\(Manifest.maxFileSize))")
            }
            files.append(ManifestEntry(path: title, size: layer.size, digest: digest, mode: .regular))
        }
        if image.config.mediaType == configMediaType {
            let configDigest = try digest(of: image.config, place: "\(what): config")
            guard image.config.size <= UInt64(Manifest.maxEncodedBytes) else {
                throw IntegrityError(.invalidManifest, "\(what): the config (the model-sync manifest) claims \(image.config.size) bytes, "
                                     + "more than \(Manifest.maxEncodedBytes)")
            }
            return ReadSet(digest: configDigest, configSize: image.config.size, built: nil, files: files,
                           signatures: signatures, created: image.created)
        }
        let built: Manifest
        do {
            built = try Manifest(files: files)
        } catch {
            throw IntegrityError(.invalidManifest, "\(what): its layers make no valid model set: \(error.message)")
        }
        return ReadSet(digest: built.digest, configSize: nil, built: built, files: files, signatures: signatures,
                       created: image.created)
    }

    /// Checks that the layers list exactly the files of `manifest` (the config's), path for path, digest and
    /// size alike, so that `oras pull` of the set gives the same folder model-sync activates.
    public static func check(_ manifest: Manifest, against set: ReadSet, what: String) throws(IntegrityError) {
        let byPath = Dictionary(set.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        for file in manifest.files {
            guard let layer = byPath[file.path] else {
                throw IntegrityError(.invalidManifest, "\(what): the manifest's \(CanonicalJSON.quoted(file.path)) has no layer")
            }
            guard layer.digest == file.digest, layer.size == file.size else {
                throw IntegrityError(.invalidManifest, "\(what): the layer of \(CanonicalJSON.quoted(file.path)) is \(layer.digest) "
                                     + "(\(layer.size) bytes), the manifest says \(file.digest) (\(file.size) bytes)")
            }
        }
        if set.files.count != manifest.files.count {
            let extra = set.files.first { file in !manifest.files.contains { $0.path == file.path } }
            throw IntegrityError(.invalidManifest, "\(what): layer \(CanonicalJSON.quoted(extra?.path ?? "?")) is not in the manifest")
        }
    }

    /// A descriptor's digest, which must be SHA-256: the store names blobs by nothing else.
    private static func digest(of descriptor: OCIDescriptor, place: String) throws(IntegrityError) -> Digest {
        do {
            return try Digest(parsing: descriptor.digest)
        } catch {
            let shown = SecretScrubber.shared.scrubbedPrefix(descriptor.digest, maxLength: 80)
            throw IntegrityError(.invalidDigest, "\(place): digest \(CanonicalJSON.quoted(shown)) is not sha256:<64 lowercase hex>",
                                 hint: "model-sync reads SHA-256 blobs only")
        }
    }
}
