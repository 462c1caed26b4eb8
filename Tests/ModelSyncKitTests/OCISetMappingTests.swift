import Foundation
import Testing
@testable import ModelSyncKit

@Suite("OCISetMapping: a model set as an OCI image manifest, and an oras-pushed folder as a set")
struct OCISetMappingTests {
    static let created = Date(timeIntervalSince1970: 1_767_225_600)
    static let what = "127.0.0.1:5000/models:latest"

    static func layer(_ title: String?, _ digest: Digest = ManifestFixtures.abc, size: UInt64 = 3,
                      mediaType: String = OCISetMapping.layerMediaType, extra: [String: String] = [:]) -> OCIDescriptor {
        var annotations = extra
        if let title { annotations[OCIImageManifest.titleAnnotation] = title }
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations)
    }

    /// An artifact as `oras push host/repo a.txt dir/b.bin` makes it: an empty config of oras's own type.
    static func orasImage(_ layers: [OCIDescriptor]) -> OCIImageManifest {
        OCIImageManifest(artifactType: "application/vnd.unknown.artifact.v1",
                         config: OCIDescriptor(mediaType: "application/vnd.oci.empty.v1+json",
                                               digest: try! Digest(parsing: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
                                               size: 2),
                         layers: layers, annotations: nil)
    }

    /// The integrity error `body` throws (nil when it throws none, or another error).
    private func failure(_ body: () throws -> Void) -> IntegrityError? {
        do {
            try body()
            return nil
        } catch {
            return error as? IntegrityError
        }
    }

    @Test("a set round-trips: config = the manifest's canonical bytes, one titled layer per file in manifest order")
    func roundTrip() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        let signature = OCISetMapping.SignatureLayer(path: "channels/latest.release.json", digest: ManifestFixtures.empty, size: 0)
        let image = OCISetMapping.imageManifest(for: manifest, signatures: [signature], created: Self.created)
        #expect(image.config.digest == manifest.digest.description)
        #expect(image.config.size == UInt64(manifest.canonicalBytes.count))
        #expect(image.config.mediaType == OCISetMapping.configMediaType)
        #expect(image.artifactType == OCISetMapping.artifactType)
        #expect(image.layers.map(\.title) == manifest.files.map(\.path) + ["channels/latest.release.json"])
        #expect(image.layers.last?.mediaType == OCISetMapping.signatureMediaType)
        #expect(image.annotations?[OCIImageManifest.createdAnnotation] == "2026-01-01T00:00:00.000000Z")

        let bytes = image.canonicalBytes
        #expect(bytes == image.canonicalBytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00.000000Z"},"artifactType":"application/vnd.model-sync.set.v1","config":"#))
        #expect(!text.contains("\\/") && !text.contains("\n") && !text.contains(": "))

        let decoded = try OCIImageManifest.decode(bytes, mediaType: OCIImageManifest.mediaType, what: Self.what)
        #expect(decoded == image)
        let set = try OCISetMapping.read(decoded, what: Self.what)
        #expect(set.digest == manifest.digest)
        #expect(set.built == nil)
        #expect(set.configSize == UInt64(manifest.canonicalBytes.count))
        #expect(set.signatures["channels/latest.release.json"]?.digest == ManifestFixtures.empty)
        #expect(set.created == Self.created)
        try OCISetMapping.check(manifest, against: set, what: Self.what)
    }

    @Test("an oras-pushed folder becomes a set built from its layers: path = title, digest and size from the descriptor")
    func orasFolder() throws {
        let image = Self.orasImage([Self.layer("weights/b.bin", ManifestFixtures.empty, size: 0), Self.layer("a.txt")])
        let set = try OCISetMapping.read(image, what: Self.what)
        let built = try #require(set.built)
        #expect(built.files.map(\.path) == ["a.txt", "weights/b.bin"])
        #expect(built.files.allSatisfy { $0.mode == .regular })
        #expect(set.digest == built.digest)
        #expect(set.configSize == nil)
    }

    @Test("hostile layer titles are refused, naming the layer", arguments: [
        ("../etc/passwd", "has a \"..\" component"), ("/etc/passwd", "is absolute"), ("a\\b", "contains a backslash"),
        ("a//b", "has an empty component"), ("./a", "has a \".\" component"), ("a\u{1}b", "control character"),
        ("", "has no org.opencontainers.image.title"),
    ])
    func hostileTitles(title: String, reason: String) throws {
        for image in [Self.orasImage([Self.layer("ok.txt"), Self.layer(title)]),
                      OCISetMapping.imageManifest(for: try Manifest(files: ManifestFixtures.entries), created: Self.created)
                        .appending(Self.layer(title))] {
            let error = failure { _ = try OCISetMapping.read(image, what: Self.what) }
            #expect(error?.code == .invalidManifest, "\(title)")
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
            #expect(error?.message.hasPrefix("\(Self.what): layer ") == true)
            #expect(error?.category.exitCode == 3)
        }
    }

    @Test("a layer without a title, two layers with one title, or a file that is also a folder are refused")
    func missingAndDuplicateTitles() throws {
        let untitled = failure { _ = try OCISetMapping.read(Self.orasImage([Self.layer(nil)]), what: Self.what) }
        #expect(untitled?.message.contains("has no org.opencontainers.image.title annotation") == true)
        let twice = failure {
            _ = try OCISetMapping.read(Self.orasImage([Self.layer("a.txt"), Self.layer("a.txt", ManifestFixtures.empty, size: 0)]),
                                       what: Self.what)
        }
        #expect(twice?.message == "\(Self.what): layer 2: two layers are titled \"a.txt\"")
        let prefix = failure {
            _ = try OCISetMapping.read(Self.orasImage([Self.layer("a"), Self.layer("a/b")]), what: Self.what)
        }
        #expect(prefix?.message.contains("its layers make no valid model set") == true)
        let folder = failure {
            _ = try OCISetMapping.read(Self.orasImage([Self.layer("models", extra: ["io.deis.oras.content.unpack": "true"])]),
                                       what: Self.what)
        }
        #expect(folder?.message.contains("is a folder packed by `oras push`") == true)
    }

    @Test("a digest that is not SHA-256 and sizes over the caps are refused before any blob moves")
    func digestsAndSizes() throws {
        var sha512 = Self.layer("a.txt")
        sha512.digest = "sha512:" + String(repeating: "ab", count: 64)
        let algorithm = failure { _ = try OCISetMapping.read(Self.orasImage([sha512]), what: Self.what) }
        #expect(algorithm?.code == .invalidDigest)
        let huge = failure {
            _ = try OCISetMapping.read(Self.orasImage([Self.layer("a.bin", size: Manifest.maxFileSize + 1)]), what: Self.what)
        }
        #expect(huge?.message.contains("more than the largest file a set may hold") == true)
        var image = OCISetMapping.imageManifest(for: try Manifest(files: ManifestFixtures.entries), created: Self.created)
        image.config.size = UInt64(Manifest.maxEncodedBytes) + 1
        let config = failure { _ = try OCISetMapping.read(image, what: Self.what) }
        #expect(config?.message.contains("the config (the model-sync manifest) claims") == true)
        let signature = failure {
            _ = try OCISetMapping.read(Self.orasImage([Self.layer("channels/latest.release.json", size: 2 << 20,
                                                                  mediaType: OCISetMapping.signatureMediaType)]),
                                       what: Self.what)
        }
        #expect(signature?.message.contains("signature file channels/latest.release.json claims") == true)
    }

    @Test("layers that disagree with the config's manifest (size, digest, missing or extra file) are refused")
    func layersDisagreeWithConfig() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        let image = OCISetMapping.imageManifest(for: manifest, created: Self.created)
        var resized = image
        resized.layers[0].size += 1
        let size = failure { try OCISetMapping.check(manifest, against: try OCISetMapping.read(resized, what: Self.what), what: Self.what) }
        #expect(size?.message.contains("the layer of \"B/weights.bin\" is") == true)
        var dropped = image
        dropped.layers.removeLast()
        let missing = failure { try OCISetMapping.check(manifest, against: try OCISetMapping.read(dropped, what: Self.what), what: Self.what) }
        #expect(missing?.message.contains("has no layer") == true)
        let extra = failure {
            try OCISetMapping.check(manifest, against: try OCISetMapping.read(image.appending(Self.layer("zzz.txt")), what: Self.what),
                                    what: Self.what)
        }
        #expect(extra?.message.contains("layer \"zzz.txt\" is not in the manifest") == true)
    }

    @Test("an image index, another schema or a document that is not JSON is not a set")
    func notAnImageManifest() throws {
        let index = failure { _ = try OCIImageManifest.decode(Array("{}".utf8), mediaType: OCIImageManifest.indexMediaType, what: Self.what) }
        #expect(index?.message.contains("is an image index") == true)
        let notJSON = failure { _ = try OCIImageManifest.decode(Array("<html>".utf8), mediaType: nil, what: Self.what) }
        #expect(notJSON?.message == "\(Self.what) is not an OCI image manifest: not JSON")
        let noConfig = failure { _ = try OCIImageManifest.decode(Array(#"{"schemaVersion":2,"layers":[]}"#.utf8), mediaType: nil, what: Self.what) }
        #expect(noConfig?.message == "\(Self.what) is not an OCI image manifest: member config is missing")
        let negative = failure {
            _ = try OCIImageManifest.decode(Array(#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:00","size":-1},"layers":[]}"#.utf8),
                                            mediaType: nil, what: Self.what)
        }
        #expect(negative?.code == .invalidManifest)
    }
}

extension OCIImageManifest {
    /// The manifest with one more layer.
    func appending(_ layer: OCIDescriptor) -> OCIImageManifest {
        var copy = self
        copy.layers.append(layer)
        return copy
    }
}
