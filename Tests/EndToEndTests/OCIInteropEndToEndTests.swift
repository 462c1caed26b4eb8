import Foundation
import Testing
import ModelSyncTestSupport

/// model-sync and the rest of the OCI ecosystem read each other's artifacts: a set published by model-sync is
/// pulled by the oras Python SDK and copied by skopeo into the same bytes; a folder pushed by oras is pulled
/// and activated by model-sync. Against a real distribution registry on 127.0.0.1.
@Suite("OCI interoperability with oras and skopeo", .serialized)
struct OCIInteropEndToEndTests {
    /// A models folder of nested, incompressible files (a dot file and a space in a name included).
    static let modelFiles: [String: [UInt8]] = [
        "config.json": Array(#"{"hidden_size": 768}"#.utf8),
        "weights/model.safetensors": pseudoRandomBytes(count: 600_000, seed: 7),
        "weights/shard 2.bin": pseudoRandomBytes(count: 70_000, seed: 8),
        "tokenizer/vocab.txt": Array("hello\nworld\n".utf8),
        ".meta/notes.md": Array("# notes\n".utf8),
    ]

    func writeModels(_ files: [String: [UInt8]], to folder: String, in sandbox: Sandbox) {
        for (path, bytes) in files { sandbox.write(folder + "/" + path, bytes) }
    }


    @Test("a set published by model-sync is pulled by the oras SDK and copied by skopeo into the same bytes")
    func modelSyncToOrasAndSkopeo() throws {
        let registry = try DistributionRegistry.start()
        let sandbox = Sandbox("oci-interop")
        writeModels(Self.modelFiles, to: "publisher/models", in: sandbox)
        sandbox.writeOCIConfig("publisher", registry: registry)
        let published = try sandbox.cli.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(published.status == 0, "\(published.stderr)")
        let manifestDigest = try #require(published.json["manifest"] as? String)
        let reference = "\(registry.host)/org/models"

        // oras: the channel tag and the digest tag both give the model folder, byte for byte.
        try OCITools.orasPull(reference + ":latest", into: sandbox.path + "/oras-latest")
        #expect(OCITools.files(in: sandbox.path + "/oras-latest") == Self.modelFiles)
        let digestTag = "sha256-" + manifestDigest.dropFirst("sha256:".count)
        try OCITools.orasPull(reference + ":" + digestTag, into: sandbox.path + "/oras-digest")
        #expect(OCITools.files(in: sandbox.path + "/oras-digest") == Self.modelFiles)

        // skopeo: the manifest as served is an OCI image manifest of model-sync's artifact type, its config the
        // model-sync manifest, one titled layer per file whose digest is the file's SHA-256.
        let raw = try OCITools.skopeoInspectRaw(reference + ":latest")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any])
        #expect(manifest["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect(manifest["artifactType"] as? String == "application/vnd.model-sync.set.v1")
        let configDescriptor = try #require(manifest["config"] as? [String: Any])
        #expect(configDescriptor["digest"] as? String == manifestDigest)
        #expect(configDescriptor["mediaType"] as? String == "application/vnd.model-sync.manifest.v1+json")
        let layers = try #require(manifest["layers"] as? [[String: Any]])
        var titled: [String: String] = [:]
        for layer in layers {
            let title = try #require((layer["annotations"] as? [String: String])?["org.opencontainers.image.title"])
            titled[title] = layer["digest"] as? String
        }
        #expect(titled == Self.modelFiles.mapValues { "sha256:" + sha256Hex($0) })

        // skopeo copy to a dir: the same manifest bytes, each layer's blob the file's bytes, the config blob
        // hashing to the model-sync manifest digest.
        let copy = sandbox.path + "/skopeo-dir"
        try OCITools.skopeoCopy(reference + ":latest", toDirectory: copy)
        #expect(sandbox.read("skopeo-dir/manifest.json") == raw)
        for (path, bytes) in Self.modelFiles {
            #expect(sandbox.read("skopeo-dir/" + sha256Hex(bytes)) == bytes, "\(path)")
        }
        let configHex = String(manifestDigest.dropFirst("sha256:".count))
        #expect(sha256Hex(sandbox.read("skopeo-dir/" + configHex)) == configHex)
    }

    @Test("a folder pushed by oras with title annotations is pulled and activated by model-sync")
    func orasToModelSync() throws {
        let registry = try DistributionRegistry.start()
        let sandbox = Sandbox("oci-interop")
        writeModels(Self.modelFiles, to: "oras-source", in: sandbox)
        try OCITools.orasPush("\(registry.host)/org/models:latest", folder: sandbox.path + "/oras-source")
        sandbox.writeOCIConfig("client", registry: registry)

        let pulled = try sandbox.cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(OCITools.files(in: sandbox.path + "/client/models") == Self.modelFiles)
        let again = try sandbox.cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(again.status == 0 && again.json["result"] as? String == "up-to-date", "\(again.stderr)")

        // A second oras push of a changed folder is followed too, and the store fetches only the new blob.
        var changed = Self.modelFiles
        changed["weights/shard 2.bin"] = pseudoRandomBytes(count: 70_000, seed: 1234)
        writeModels(changed, to: "oras-source", in: sandbox)
        try OCITools.orasPush("\(registry.host)/org/models:latest", folder: sandbox.path + "/oras-source")
        let next = try sandbox.cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(next.status == 0 && next.json["result"] as? String == "activated", "\(next.stdout) \(next.stderr)")
        #expect(next.json["fetched_objects"] as? Int == 1)
        #expect(OCITools.files(in: sandbox.path + "/client/models") == changed)
    }
}
