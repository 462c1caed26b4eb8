import Foundation
import ModelSyncTestSupport
import Testing

/// A worker that packs with `signing.key_env` and a client that trusts its key (or `trusted`).
private struct ArchiveFixture {
    let sandbox = Sandbox()
    var worker: CLI
    let pem: String

    init(trusted: String? = nil, workerSigns: Bool = true) throws {
        let made = try sandbox.cli.run(["keygen", "--out", "worker.pem", "--json"])
        #expect(made.status == 0, "\(made.stderr)")
        let key = try #require(made.json["public_key"] as? String)
        pem = String(decoding: sandbox.read("worker.pem"), as: UTF8.self)
        sandbox.write("worker/models/weights.bin", pseudoRandomBytes(count: 5000, seed: 7))
        sandbox.write("worker.yaml", "model_sync:\n  models_dir: worker/models\n  store_dir: worker/store\n"
                      + (workerSigns ? "  signing:\n    key_env: WORKER_SIGNING_KEY\n" : ""))
        sandbox.write("client.yaml", """
            model_sync:
              models_dir: client/models
              store_dir: client/store
              signing:
                trusted_keys:
                  - "\(trusted ?? key)"
            """)
        worker = sandbox.cli
        worker.environment["WORKER_SIGNING_KEY"] = pem
    }

    func pack(_ name: String) throws -> CLI.Result {
        try worker.run(["pack", "--config", "worker.yaml", "--archive-path", name, "--json"])
    }

    func pull(_ name: String) throws -> CLI.Result {
        try sandbox.cli.run(["runpod-pull", "--config", "client.yaml", "--from-archive", name, "--json"])
    }

    func active() throws -> String? {
        let status = try sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        return (status.json["active"] as? [String: Any])?["manifest"] as? String
    }
}

@Suite("signed RunPod archives: pack signs with signing.key_env, runpod-pull enforces", .serialized)
struct SignedArchiveEndToEndTests {
    @Test("a signed archive is imported; it carries the signature files and never the key")
    func roundTrip() throws {
        let fixture = try ArchiveFixture()
        let packed = try fixture.pack("a.zip")
        #expect(packed.status == 0, "\(packed.stderr)")
        let manifest = try #require(packed.json["manifest"] as? String)
        let listing = """
            import zipfile, sys
            z = zipfile.ZipFile(sys.argv[1])
            print("\\n".join(z.namelist()))
            body = sys.argv[2].encode()
            sys.exit(1 if any(body in z.read(n) for n in z.namelist()) else 0)
            """
        fixture.sandbox.write("list.py", listing)
        let body = fixture.pem.split(separator: "\n")[1]
        #expect(shell("cd '\(fixture.sandbox.path)' && python3 list.py a.zip '\(body)' > names.txt") == 0, "the key is in the archive")
        let names = String(decoding: fixture.sandbox.read("names.txt"), as: UTF8.self)
        #expect(names.contains("channels/runpod.release.json") && names.contains("manifests/sha256/\(manifest.dropFirst(7)).sig.json"), "\(names)")
        #expect(!packed.stdout.contains(body) && !packed.stderr.contains(body))
        let pulled = try fixture.pull("a.zip")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try fixture.active() == manifest)
        let status = try fixture.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        let signature = try #require(status.json["signature"] as? [String: Any], "\(status.stdout)")
        #expect((signature["key_ids"] as? [String])?.count == 1)
    }

    @Test("an unsigned archive, or one signed by an untrusted key, is refused (exit 3) and nothing is activated")
    func unsignedAndUnknownRefused() throws {
        let unsigned = try ArchiveFixture(workerSigns: false)
        #expect(try unsigned.pack("a.zip").status == 0)
        let refused = try unsigned.pull("a.zip")
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("channels/runpod.release.json is missing"), "\(refused.stderr)")
        #expect(try unsigned.active() == nil)

        let stranger = "ed25519:" + Data(repeating: 7, count: 32).base64EncodedString()
        let unknown = try ArchiveFixture(trusted: stranger)
        #expect(try unknown.pack("a.zip").status == 0)
        let result = try unknown.pull("a.zip")
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("is not in signing.trusted_keys"), "\(result.stderr)")
        #expect(try unknown.active() == nil)
    }

    @Test("an older archive replayed after a newer one is refused (exit 3); the newer set stays active")
    func replayRefused() throws {
        let fixture = try ArchiveFixture()
        #expect(try fixture.pack("old.zip").status == 0)
        // Archive releases are numbered by their issue second.
        Thread.sleep(forTimeInterval: 1.2)
        fixture.sandbox.write("worker/models/weights.bin", pseudoRandomBytes(count: 5000, seed: 8))
        let newer = try fixture.pack("new.zip")
        #expect(try fixture.pull("new.zip").status == 0)
        let replay = try fixture.pull("old.zip")
        #expect(replay.status == 3, "\(replay.stderr)")
        #expect(replay.stderr.contains("is older than release"), "\(replay.stderr)")
        #expect(try fixture.active() == newer.json["manifest"] as? String)
    }

    @Test("a plain (legacy) archive has no signatures: refused (exit 3) when trusted_keys is set")
    func legacyArchiveRefused() throws {
        let fixture = try ArchiveFixture()
        fixture.sandbox.write("make.py", "import zipfile\nz = zipfile.ZipFile('legacy.zip', 'w')\nz.writestr('models/w.bin', b'weights')\nz.close()\n")
        #expect(shell("cd '\(fixture.sandbox.path)' && python3 make.py") == 0)
        let result = try fixture.pull("legacy.zip")
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("plain (legacy) archive without signatures"), "\(result.stderr)")
        #expect(try fixture.active() == nil)
    }

    @Test("pack with signing.key_env unset exits 2 and writes no archive")
    func packWithoutKey() throws {
        var fixture = try ArchiveFixture()
        fixture.worker.environment.removeValue(forKey: "WORKER_SIGNING_KEY")
        let packed = try fixture.pack("a.zip")
        #expect(packed.status == 2, "\(packed.stderr)")
        #expect(packed.stderr.contains("signing.key_env WORKER_SIGNING_KEY is not set"), "\(packed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.path + "/a.zip"))
    }
}
