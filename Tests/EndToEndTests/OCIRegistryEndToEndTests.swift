#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSyncKit
import ModelSyncTestSupport
import Testing

/// A real distribution registry on 127.0.0.1, a publisher and a client whose configurations select it with
/// `oci.reference`.
struct OCIFixture {
    let sandbox: Sandbox
    let registry: DistributionRegistry
    var reference: String { registry.host + "/team/models" }

    /// `ociYAML`: more keys of both files' `oci:` section (indented by four spaces).
    init(files: Int = 6, sandbox: Sandbox = Sandbox(), registry: DistributionRegistry? = nil, ociYAML: String = "",
         extraPublisherYAML: String = "", extraClientYAML: String = "") throws {
        self.sandbox = sandbox
        self.registry = try registry ?? DistributionRegistry.start()
        let registry = self.registry
        for index in 0..<files {
            sandbox.write("publisher/models/set/file\(index).bin", pseudoRandomBytes(count: 20_000 + index, seed: UInt64(index + 1)))
        }
        for (name, extra) in [("publisher", extraPublisherYAML), ("client", extraClientYAML)] {
            sandbox.writeOCIConfig(name, registry: registry, repository: "team/models", extra: ociYAML + "\n" + extra)
        }
    }

    func publish(_ extra: [String] = []) throws -> CLI.Result {
        try sandbox.cli.run(["publish", "--config", "publisher.yaml", "--json"] + extra)
    }

    func pull(_ extra: [String] = []) throws -> CLI.Result {
        try sandbox.cli.run(["pull", "--config", "client.yaml", "--json"] + extra)
    }

    func activeManifest() throws -> String? {
        let status = try sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        return (status.json["active"] as? [String: Any])?["manifest"] as? String
    }

    func clientFile(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: sandbox.path + "/client/models/" + relative).map { Array($0) }
    }
}

@Suite("publish and pull through an OCI registry (CNCF distribution), run as a user would", .serialized)
struct OCIRegistryEndToEndTests {
    @Test("publish, then pull into an empty client: verified, activated, identical files; a second pull is up to date")
    func publishThenPull() throws {
        let fixture = try OCIFixture()
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["result"] as? String == "published")
        #expect(published.json["new_objects"] as? Int == 6)
        let manifest = try #require(published.json["manifest"] as? String)
        #expect((published.json["image_manifest"] as? String)?.hasPrefix("sha256:") == true)

        let plan = try fixture.pull(["--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.json["behind"] as? Bool == true && plan.json["fetch_objects"] as? Int == 6)

        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(pulled.json["manifest"] as? String == manifest)
        #expect(pulled.json["fetched_objects"] as? Int == 6)
        for index in 0..<6 {
            #expect(fixture.clientFile("set/file\(index).bin") == pseudoRandomBytes(count: 20_000 + index, seed: UInt64(index + 1)))
        }
        #expect(try fixture.activeManifest() == manifest)
        let again = try fixture.pull()
        #expect(again.json["result"] as? String == "up-to-date", "\(again.stderr)")
        let remote = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--remote", "--json"])
        #expect((remote.json["remote"] as? [String: Any])?["behind"] as? Bool == false, "\(remote.stderr)")
        #expect(try fixture.publish().json["result"] as? String == "up-to-date")
    }

    @Test("large files start uploading while the import hashes the rest, and count in new_objects and new_bytes")
    func largeFilesUploadEarly() throws {
        let fixture = try OCIFixture(files: 2)
        let large = pseudoRandomBytes(count: 3 << 20, seed: 77)
        let other = pseudoRandomBytes(count: (2 << 20) + 5, seed: 78)
        fixture.sandbox.write("publisher/models/set/large.bin", large)
        fixture.sandbox.write("publisher/models/set/other.bin", other)
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.json["new_objects"] as? Int == 4)
        #expect(published.json["new_bytes"] as? Int == large.count + other.count + 20_000 + 20_001)
        for blob in [large, other] {
            #expect(fixture.registry.storedBlobs().contains(sha256Hex(Data(blob))))
        }
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(fixture.clientFile("set/large.bin") == large)
        // Nothing new: nothing uploaded, early or not.
        let again = try fixture.publish()
        #expect(again.json["result"] as? String == "up-to-date", "\(again.stdout)")
        #expect(again.json["new_objects"] as? Int == 0)
    }

    @Test("v2 uploads only the changed blob (the registry's storage gains it, the config and the image manifest)")
    func deltaPublish() throws {
        let fixture = try OCIFixture()
        #expect(try fixture.publish().status == 0)
        #expect(try fixture.pull().status == 0)
        let before = fixture.registry.storedBlobs()
        let changed = pseudoRandomBytes(count: 30_000, seed: 99)
        fixture.sandbox.write("publisher/models/set/file2.bin", changed)
        let v2 = try fixture.publish()
        #expect(v2.status == 0, "\(v2.stderr)")
        #expect(v2.json["new_objects"] as? Int == 1)
        #expect(v2.json["new_bytes"] as? Int == changed.count)
        let manifest = try #require(v2.json["manifest"] as? String)
        let image = try #require(v2.json["image_manifest"] as? String)
        let added = fixture.registry.storedBlobs().subtracting(before)
        #expect(added == [SHA256.hash(changed).hex, String(manifest.dropFirst(7)), String(image.dropFirst(7))], "\(added)")
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["fetched_objects"] as? Int == 1)
        #expect(pulled.json["fetched_bytes"] as? Int == changed.count)
        #expect(fixture.clientFile("set/file2.bin") == changed)
    }

    @Test("versions lists the published sets newest first; pull --manifest activates an older one by its digest tag")
    func versionsAndPullByDigest() throws {
        let fixture = try OCIFixture(files: 2)
        let v1 = try #require(try fixture.publish().json["manifest"] as? String)
        fixture.sandbox.write("publisher/models/set/file0.bin", pseudoRandomBytes(count: 1000, seed: 7))
        // Right after: the created annotation orders publishes within one second.
        let v2 = try #require(try fixture.publish().json["manifest"] as? String)
        let versions = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--json"])
        #expect(versions.status == 0, "\(versions.stderr)")
        let listed = (versions.json["versions"] as? [[String: Any]] ?? []).compactMap { $0["manifest"] as? String }
        #expect(listed == [v2, v1])
        #expect((versions.json["versions"] as? [[String: Any]])?.first?["files"] as? Int == 2)

        let older = try fixture.pull(["--manifest", String(v1.dropFirst(7).prefix(10))])
        #expect(older.status == 0, "\(older.stderr)")
        #expect(older.json["manifest"] as? String == v1)
        #expect(try fixture.activeManifest() == v1)
        // The channel's set is held back so the next pull does not undo the choice.
        let next = try fixture.pull()
        #expect(next.json["result"] as? String == "held-back", "\(next.stderr)")
        let unknown = try fixture.pull(["--manifest", "ffff"])
        #expect(unknown.status == 2, "\(unknown.stderr)")
    }

    @Test("gc --registry deletes the image manifests beyond keep_manifests, never the channel's; sets published within one second keep their order")
    func registryGC() throws {
        let fixture = try OCIFixture(files: 1, extraPublisherYAML: "  registry:\n    keep_manifests: 2\n")
        var manifests: [String] = []
        // Back to back, several within each second: created is written to the microsecond.
        for round in 0..<5 {
            fixture.sandbox.write("publisher/models/set/file0.bin", pseudoRandomBytes(count: 500 + round, seed: 10))
            manifests.append(try #require(try fixture.publish().json["manifest"] as? String))
        }
        let listed = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--json"])
        #expect((listed.json["versions"] as? [[String: Any]] ?? []).compactMap { $0["manifest"] as? String } == manifests.reversed())
        let dry = try fixture.sandbox.cli.run(["gc", "--registry", "--dry-run", "--config", "publisher.yaml", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect((dry.json["manifests_removed"] as? [String])?.count == 3)
        let collected = try fixture.sandbox.cli.run(["gc", "--registry", "--config", "publisher.yaml", "--json"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(Set(collected.json["manifests_removed"] as? [String] ?? []) == Set(manifests.prefix(3)))
        #expect(collected.json["manifests_kept"] as? [String] == [manifests[4], manifests[3]])
        let versions = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--json"])
        #expect((versions.json["versions"] as? [[String: Any]] ?? []).compactMap { $0["manifest"] as? String }
                == [manifests[4], manifests[3]])
        let pulled = try fixture.pull()
        #expect(pulled.status == 0 && pulled.json["manifest"] as? String == manifests[4], "\(pulled.stderr)")
    }

    @Test("a registry serving bytes that do not match their digest: exit 3, the active set untouched")
    func wrongBytesExit3() throws {
        let fixture = try OCIFixture(files: 2)
        let v1 = try #require(try fixture.publish().json["manifest"] as? String)
        #expect(try fixture.pull().status == 0)
        let changed = pseudoRandomBytes(count: 4096, seed: 42)
        fixture.sandbox.write("publisher/models/set/file1.bin", changed)
        #expect(try fixture.publish().status == 0)
        // The registry's storage rots: same length, other bytes, served as they are.
        let path = fixture.registry.blobPath(SHA256.hash(changed).hex)
        try Data(pseudoRandomBytes(count: 4096, seed: 44)).write(to: URL(fileURLWithPath: path))
        let pulled = try fixture.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains(fixture.reference), "\(pulled.stderr)")
        #expect(pulled.stderr.contains("set/file1.bin"), "\(pulled.stderr)")
        #expect(try fixture.activeManifest() == v1)
        #expect(fixture.clientFile("set/file1.bin") == pseudoRandomBytes(count: 20_001, seed: 2))
    }

    @Test("over TLS with htpasswd: oci.ca_bundle and username + password_env; a wrong password exits 4 and is never shown")
    func tlsAndBasicAuth() throws {
        let registry = try DistributionRegistry.start(tls: true, auth: .htpasswd(user: "bot", password: "s3cret-registry-pass"))
        let bundle = try #require(registry.caBundle)
        let fixture = try OCIFixture(files: 2, registry: registry, ociYAML: """
                ca_bundle: "\(bundle)"
                username: bot
                password_env: REGISTRY_PASSWORD
            """)
        var cli = fixture.sandbox.cli
        cli.environment["REGISTRY_PASSWORD"] = "s3cret-registry-pass"
        let plan = try cli.run(["publish", "--config", "publisher.yaml", "--dry-run", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.json["would_publish"] as? Bool == true && plan.json["new_objects"] as? Int == 2)
        let published = try cli.run(["publish", "--config", "publisher.yaml", "--json"])
        #expect(published.status == 0, "\(published.stderr)")
        let pulled = try cli.run(["pull", "--config", "client.yaml", "--json"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["manifest"] as? String == published.json["manifest"] as? String)

        cli.environment["REGISTRY_PASSWORD"] = "wrong-password-value"
        let refused = try cli.run(["pull", "--config", "client.yaml", "--json", "--force"])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(!refused.stderr.contains("wrong-password-value") && !refused.stdout.contains("wrong-password-value"))
        // Without the CA bundle the registry's certificate is not trusted.
        fixture.sandbox.writeOCIConfig("untrusted", folder: "client", registry: registry, repository: "team/models")
        let untrusted = try cli.run(["versions", "--config", "untrusted.yaml"])
        #expect(untrusted.status == 4, "\(untrusted.stderr)")
    }

    @Test("a signed publish on channel prod carries its signature files as layers; a client trusting the key pulls, another key exits 3")
    func signedSets() throws {
        let sandbox = Sandbox()
        let made = try sandbox.cli.run(["keygen", "--out", "publisher.pem", "--json"])
        let key = try #require(made.json["public_key"] as? String)
        let other = try sandbox.cli.run(["keygen", "--out", "other.pem", "--json"])
        let otherKey = try #require(other.json["public_key"] as? String)
        let fixture = try OCIFixture(files: 2, sandbox: sandbox, ociYAML: "    channel: prod", extraPublisherYAML: """
              signing:
                key_file: publisher.pem
            """, extraClientYAML: """
              signing:
                trusted_keys:
                  - "\(key)"
            """)
        let published = try fixture.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let verified = try sandbox.cli.run(["verify", "--config", "client.yaml", "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect((verified.json["release"] as? [String: Any])?["channel"] as? String == "prod")
        let status = try sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        #expect((status.json["signature"] as? [String: Any]) != nil, "\(status.stdout)")
        // The channel is the tag prod: nothing was published on latest.
        let tags = try OCIClient(reference: OCIReference(parsing: fixture.reference), auth: Anonymous()).tags()
        #expect(tags.contains("prod") && !tags.contains("latest"), "\(tags)")
        sandbox.write("latest.yaml", """
            model_sync:
              models_dir: latest/models
              oci:
                reference: "\(fixture.registry.host)/team/models"
            """)
        let empty = try sandbox.cli.run(["pull", "--config", "latest.yaml"])
        #expect(empty.status == 2, "\(empty.stderr)")
        #expect(empty.stderr.contains("nothing is published on \(fixture.reference):latest yet"), "\(empty.stderr)")

        sandbox.writeOCIConfig("stranger", registry: fixture.registry, repository: "team/models", extra: """
                channel: prod
              signing:
                trusted_keys:
                  - "\(otherKey)"
            """)
        let refused = try sandbox.cli.run(["pull", "--config", "stranger.yaml", "--json"])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/stranger/models"))
        let cosign = try sandbox.cli.run(["cosign", "--config", "publisher.yaml"])
        #expect(cosign.status == 2, "\(cosign.stderr)")
    }

    /// Pushes `files` (title → bytes) as `oras push` does — one titled layer each, an empty config — and tags
    /// the manifest `latest`.
    private func pushOrasStyle(_ files: [(String, [UInt8])], to fixture: OCIFixture) throws {
        let client = try OCIClient(reference: OCIReference(parsing: fixture.reference), auth: Anonymous())
        let layers = try files.map { title, bytes in
            OCIDescriptor(mediaType: "application/vnd.oci.image.layer.v1.tar", digest: try client.putBlob(bytes: bytes),
                          size: UInt64(bytes.count), annotations: ["org.opencontainers.image.title": title])
        }
        let empty = Array("{}".utf8)
        let config = OCIDescriptor(mediaType: "application/vnd.oci.empty.v1+json", digest: try client.putBlob(bytes: empty),
                                   size: 2)
        let image = OCIImageManifest(artifactType: "application/vnd.unknown.artifact.v1", config: config, layers: layers,
                                     annotations: nil)
        _ = try client.putManifest(image.canonicalBytes, mediaType: OCIImageManifest.mediaType, reference: "latest")
    }

    @Test("a folder pushed as oras does (titled layers, no model-sync config) is pulled and activated as a set")
    func orasStyleArtifact() throws {
        let fixture = try OCIFixture(files: 0)
        let weights = pseudoRandomBytes(count: 5000, seed: 21), config = Array("{\"layers\": 3}".utf8)
        try pushOrasStyle([("btc/model.onnx", weights), ("config.json", config)], to: fixture)
        let pulled = try fixture.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(fixture.clientFile("btc/model.onnx") == weights)
        #expect(fixture.clientFile("config.json") == config)
    }

    @Test("an oras-style artifact with a hostile title exits 3 before any blob moves, writing nothing")
    func hostileOrasArtifact() throws {
        let fixture = try OCIFixture(files: 0)
        try pushOrasStyle([("ok.bin", [1, 2, 3]), ("../escape.bin", [4, 5, 6])], to: fixture)
        let pulled = try fixture.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("has a \"..\" component"), "\(pulled.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/escape.bin"))
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/client/models"))
    }

    /// Runs `daemon --role ROLE --config FILE --run-now` until its first run finishes, then stops it with
    /// SIGTERM; returns its log.
    private func runDaemonOnce(_ role: String, config: String, in fixture: OCIFixture) throws -> String {
        let log = fixture.sandbox.path + "/daemon-\(role).log"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["daemon", "--role", role, "--config", config, "--run-now"]
        process.currentDirectoryURL = URL(fileURLWithPath: fixture.sandbox.path)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("run-finished") {
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    @Test("the daemon's publisher and client roles work against the OCI registry; a bad oci section stops it at start with exit 2")
    func daemonRoles() throws {
        let fixture = try OCIFixture(files: 2, extraPublisherYAML: "  publisher:\n    schedule: \"02:00\"\n",
                                     extraClientYAML: "  client:\n    schedule: \"03:00\"\n")
        let published = try runDaemonOnce("publisher", config: "publisher.yaml", in: fixture)
        #expect(published.contains("result=published"), "\(published)")
        let versions = try fixture.sandbox.cli.run(["versions", "--config", "client.yaml", "--json"])
        let manifest = try #require((versions.json["versions"] as? [[String: Any]])?.first?["manifest"] as? String)
        let pulled = try runDaemonOnce("client", config: "client.yaml", in: fixture)
        #expect(pulled.contains("result=activated"), "\(pulled)")
        #expect(try fixture.activeManifest() == manifest)

        fixture.sandbox.write("bad.yaml", """
            model_sync:
              models_dir: client/models
              oci:
                reference: "\(fixture.registry.host)/team/models"
                username: bot
                password_env: OCI_TEST_UNSET_PASSWORD
            """)
        let bad = try fixture.sandbox.cli.run(["daemon", "--role", "client", "--config", "bad.yaml"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("OCI_TEST_UNSET_PASSWORD"), "\(bad.stderr)")
        // An empty password is no password: refused at start too, not at the first run.
        var empty = fixture.sandbox.cli
        empty.environment["OCI_TEST_UNSET_PASSWORD"] = ""
        let emptied = try empty.run(["daemon", "--role", "client", "--config", "bad.yaml"], timeout: 30)
        #expect(emptied.status == 2, "\(emptied.stderr)")
        #expect(emptied.stderr.contains("is not set (or empty)"), "\(emptied.stderr)")
    }
}

/// No credentials: the test registry allows anonymous pushes.
private final class Anonymous: OCIAuthorizing {
    func authorization(for scope: OCIScope) -> String? { nil }
    func answer(challenge: String, scope: OCIScope) throws -> String? { nil }
}
