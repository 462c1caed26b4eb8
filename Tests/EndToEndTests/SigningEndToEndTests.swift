import Foundation
import ModelSyncTestSupport
import Testing

/// A registry whose publisher signs with a key made by `model-sync keygen` and whose client trusts it.
private struct SignedFixture {
    let fixture: RegistryFixture
    var sandbox: Sandbox { fixture.sandbox }
    /// The publisher's public key, `ed25519:<base64>`.
    let publicKey: String

    /// `trusted`: the client's trusted_keys (default: the publisher's key); `clientExtra`: more of `signing:`.
    init(files: Int = 3, signs: Bool = true, trusted: [String]? = nil, alsoTrusted: [String] = [], clientExtra: String = "",
         publisherExtra: String = "") throws {
        let sandbox = Sandbox()
        let made = try sandbox.cli.run(["keygen", "--out", "publisher.pem", "--json"])
        #expect(made.status == 0, "\(made.stderr)")
        let key = try #require(made.json["public_key"] as? String)
        self.publicKey = key
        let keys = ((trusted ?? [key]) + alsoTrusted).map { "\n        - \"\($0)\"" }.joined()
        fixture = RegistryFixture(sandbox: sandbox, files: files, extraPublisherYAML: signs ? """
              signing:
                key_file: publisher.pem
            \(publisherExtra)
            """ : "", extraClientYAML: """
              signing:
                trusted_keys:\(keys)
            \(clientExtra)
            """)
    }

    /// The same sandbox and registry with the client's trusted keys (the fixture's own plus `alsoTrusted`)
    /// and `clientExtra` rewritten.
    init(reusing other: SignedFixture, alsoTrusted: [String], clientExtra: String) throws {
        fixture = other.fixture
        publicKey = other.publicKey
        let keys = ([publicKey] + alsoTrusted).map { "\n        - \"\($0)\"" }.joined()
        sandbox.write("client.yaml", """
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "file://\(sandbox.path)/registry.git"
              signing:
                trusted_keys:\(keys)
            \(clientExtra)
            """)
    }

    func publish() throws -> CLI.Result { try fixture.publish() }
    func pull(_ extra: [String] = []) throws -> CLI.Result { try fixture.pull(extra) }

    /// Clones the registry, lets `edit` change the checkout (paths under it), commits and pushes (forced).
    func editRegistry(_ edit: (String) throws -> Void) throws {
        let directory = "edit-\(UUID().uuidString.prefix(8))"
        fixture.git(["clone", "-q", "registry.git", directory], in: ".")
        try edit(sandbox.path + "/" + directory)
        fixture.git(["add", "-A"], in: directory)
        fixture.git(["commit", "-q", "-m", "edit"], in: directory)
        fixture.git(["push", "-q", "-f", "origin", "HEAD:main"], in: directory)
    }

    /// The active manifest of the client, read from `status --json`.
    func activeManifest() throws -> String? {
        let status = try sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        return (status.json["active"] as? [String: Any])?["manifest"] as? String
    }
}

/// Signs `message` with the openssl CLI (`pkeyutl -sign -rawin`), as a user would by hand.
func opensslSign(_ message: [UInt8], keyPath: String, in sandbox: Sandbox) throws -> [UInt8] {
    sandbox.write("openssl-in.bin", message)
    let status = shell("cd '\(sandbox.path)' && openssl pkeyutl -sign -rawin -inkey '\(keyPath)' -in openssl-in.bin -out openssl-sig.bin")
    #expect(status == 0)
    return sandbox.read("openssl-sig.bin")
}

/// A signature file holding `statement` (already canonical) signed by the openssl CLI with the PEM key at
/// `keyPath`, whose public key is `publicKey`.
func opensslEnvelope(_ statement: String, keyPath: String, publicKey: String, in sandbox: Sandbox) throws -> String {
    let signature = try opensslSign(Array(statement.utf8), keyPath: keyPath, in: sandbox)
    let raw = try #require(Data(base64Encoded: String(publicKey.dropFirst("ed25519:".count))))
    let keyID = "sha256:" + sha256Hex(Array(raw))
    return #"{"signatures":[{"key_id":"\#(keyID)","signature":"\#(Data(signature).base64EncodedString())"}],"statement":"\#(Data(statement.utf8).base64EncodedString())"}"#
}

/// SHA-256 hex through the openssl CLI (the test target does not link the library's hasher).
func sha256Hex(_ bytes: [UInt8]) -> String {
    let sandbox = Sandbox()
    sandbox.write("in.bin", bytes)
    _ = shell("cd '\(sandbox.path)' && openssl dgst -sha256 -r in.bin | cut -c1-64 > out.txt")
    return String(decoding: sandbox.read("out.txt"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("signed releases on a git registry, run as a user would", .serialized)
struct SigningEndToEndTests {
    @Test("a signed publish is pulled; the signature files sit beside what they sign; the key never leaves its file")
    func roundTrip() throws {
        let signed = try SignedFixture()
        let published = try signed.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let manifest = try #require(published.json["manifest"] as? String)
        let hex = String(manifest.dropFirst("sha256:".count))
        let tree = signed.fixture.git(["ls-tree", "-r", "--name-only", "main"])
        #expect(tree.contains("manifests/sha256/\(hex).sig.json"), "\(tree)")
        #expect(tree.contains("channels/latest.release.json"), "\(tree)")
        let pulled = try signed.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.json["result"] as? String == "activated")
        #expect(try signed.pull().json["result"] as? String == "up-to-date")

        // The PEM body appears in no output, no registry file and no store file.
        let pem = String(decoding: signed.sandbox.read("publisher.pem"), as: UTF8.self)
        let body = pem.split(separator: "\n")[1]
        #expect(!published.stdout.contains(body) && !published.stderr.contains(body))
        let grep = shell("cd '\(signed.sandbox.path)' && ! grep -rqF -- '\(body)' registry.git publisher/store publisher/repo client")
        #expect(grep == 0, "the private key was found outside its file")

        let verify = try signed.sandbox.cli.run(["verify", "--config", "client.yaml", "--json"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect((verify.json["release"] as? [String: Any])?["sequence"] as? Int == 1)
        let status = try signed.sandbox.cli.run(["status", "--config", "client.yaml", "--json"])
        let signature = status.json["signature"] as? [String: Any]
        #expect(signature?["sequence"] as? Int == 1, "\(status.stdout)")
    }

    @Test("trusted_keys set and the registry unsigned: exit 3, the signature file named, nothing activated")
    func missingSignatureRefused() throws {
        let signed = try SignedFixture(signs: false)
        #expect(try signed.publish().status == 0)
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("models/channels/latest.release.json") && pulled.stderr.contains("is missing"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == nil)
    }

    @Test("a release signed by a key the client does not trust is refused (exit 3)")
    func unknownKeyRefused() throws {
        let other = try SignedFixture()
        let signed = try SignedFixture(trusted: [other.publicKey])
        #expect(try signed.publish().status == 0)
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("is not in signing.trusted_keys"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == nil)
    }

    @Test("threshold 2 with one publisher's signature: exit 3, one valid signature of two required")
    func belowThresholdRefused() throws {
        let other = try SignedFixture()
        let signed = try SignedFixture(alsoTrusted: [other.publicKey], clientExtra: "    threshold: 2")
        #expect(try signed.publish().status == 0)
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("1 valid signature(s) by trusted keys, 2 required"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == nil)
    }

    @Test("threshold 2: refused after the publisher alone signs, accepted once a second key cosigns")
    func cosignReachesThreshold() throws {
        var signed = try SignedFixture(files: 1)
        let made = try signed.sandbox.cli.run(["keygen", "--out", "approver.pem", "--json"])
        let approver = try #require(made.json["public_key"] as? String)
        signed = try SignedFixture(reusing: signed, alsoTrusted: [approver], clientExtra: "    threshold: 2")
        signed.sandbox.write("approver.yaml", """
            model_sync:
              models_dir: approver/models
              store_dir: approver/store
              repo_dir: approver/repo
              repo_url: "file://\(signed.sandbox.path)/registry.git"
              signing:
                key_file: approver.pem
            """)
        let published = try signed.publish()
        let manifest = try #require(published.json["manifest"] as? String)
        let refused = try signed.pull()
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("1 valid signature(s) by trusted keys, 2 required"), "\(refused.stderr)")

        let wrong = try signed.sandbox.cli.run(["cosign", "sha256:" + String(repeating: "0", count: 64), "--config", "approver.yaml"])
        #expect(wrong.status == 2, "\(wrong.stderr)")
        let cosigned = try signed.sandbox.cli.run(["cosign", manifest, "--config", "approver.yaml", "--json"])
        #expect(cosigned.status == 0, "\(cosigned.stderr)")
        #expect(cosigned.json["commit"] is String)
        let again = try signed.sandbox.cli.run(["cosign", "--config", "approver.yaml", "--json"])
        #expect(again.status == 0 && again.json["commit"] is NSNull, "\(again.stderr)")
        let pulled = try signed.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try signed.activeManifest() == manifest)
        // The publisher's next publish of the same set keeps the cosignature (its release is still current).
        #expect(try signed.publish().json["result"] as? String == "up-to-date")
    }

    @Test("a threshold above the number of trusted keys is a configuration error (exit 2)")
    func thresholdAboveKeysIsAConfigError() throws {
        let signed = try SignedFixture(clientExtra: "    threshold: 2")
        let pulled = try signed.pull()
        #expect(pulled.status == 2, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("signing.threshold"), "\(pulled.stderr)")
    }

    @Test("malformed, tampered-statement and tampered-signature release files are refused (exit 3)")
    func tamperedFilesRefused() throws {
        for tamper in ["malformed", "statement", "signature"] {
            let signed = try SignedFixture(files: 1)
            #expect(try signed.publish().status == 0)
            try signed.editRegistry { checkout in
                let path = checkout + "/models/channels/latest.release.json"
                let text = try String(contentsOfFile: path, encoding: .utf8)
                var edited = text
                switch tamper {
                case "malformed": edited = String(text.dropLast(3))
                case "statement":
                    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                    var statement = Array(Data(base64Encoded: object["statement"] as! String)!)
                    let index = statement.firstIndex(of: UInt8(ascii: "1"))!
                    statement[index] = UInt8(ascii: "7")
                    edited = text.replacingOccurrences(of: object["statement"] as! String, with: Data(statement).base64EncodedString())
                default:
                    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                    let old = (object["signatures"] as! [[String: Any]])[0]["signature"] as! String
                    var bytes = Array(Data(base64Encoded: old)!)
                    bytes[10] ^= 0x01
                    edited = text.replacingOccurrences(of: old, with: Data(bytes).base64EncodedString())
                }
                try edited.write(toFile: path, atomically: true, encoding: .utf8)
            }
            let pulled = try signed.pull()
            #expect(pulled.status == 3, "\(tamper): \(pulled.stderr)")
            let manifest = signed.fixture.git(["show", "main:models/channels/latest"])
            let verify = try signed.sandbox.cli.run(["verify", manifest, "--config", "client.yaml"])
            #expect(verify.status == 3, "verify, \(tamper): \(verify.stderr)")
            #expect(pulled.stderr.contains(tamper == "malformed" ? "is malformed" : "does not verify"), "\(tamper): \(pulled.stderr)")
            #expect(try signed.activeManifest() == nil)
        }
    }

    @Test("a channel moved to another manifest without a new release is refused (exit 3)")
    func otherManifestRefused() throws {
        let signed = try SignedFixture(files: 2)
        #expect(try signed.publish().status == 0)
        signed.sandbox.write("publisher/models/set/extra.bin", Array("v2".utf8))
        let second = try signed.publish()
        #expect(second.status == 0, "\(second.stderr)")
        let first = try #require(signed.fixture.git(["show", "main~1:models/channels/latest"]).split(separator: "\n").first)
        try signed.editRegistry { checkout in
            try (first + "\n").write(toFile: checkout + "/models/channels/latest", atomically: true, encoding: .utf8)
        }
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("but channel latest names \(first)"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == nil)
    }

    @Test("a registry force-pushed back to an older release is refused, even after an index rebuild; pull --manifest may choose it")
    func rollbackRefused() throws {
        let signed = try SignedFixture(files: 2)
        #expect(try signed.publish().status == 0)
        let old = signed.fixture.git(["rev-parse", "main"])
        let firstPull = try signed.pull()
        let v1 = try #require(firstPull.json["manifest"] as? String)
        signed.sandbox.write("publisher/models/set/extra.bin", Array("v2".utf8))
        #expect(try signed.publish().status == 0)
        let second = try signed.pull()
        #expect(second.status == 0, "\(second.stderr)")
        let v2 = try #require(second.json["manifest"] as? String)

        signed.fixture.git(["update-ref", "refs/heads/main", old])
        // The index is rebuilt from the disk alone: the memory of release 2 must survive it.
        #expect(shell("rm -f '\(signed.sandbox.path)/client/store/index.sqlite'*") == 0)
        let repaired = try signed.sandbox.cli.run(["fsck", "--repair", "--config", "client.yaml"])
        #expect(repaired.status == 0 || repaired.status == 7, "\(repaired.stderr)")
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("release 1 of \(v1) is older than release 2"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == v2)

        let chosen = try signed.pull(["--manifest", v1])
        #expect(chosen.status == 0, "\(chosen.stderr)")
        #expect(try signed.activeManifest() == v1)
        let log = try signed.sandbox.cli.run(["log", "--config", "client.yaml"])
        #expect(log.stdout.contains("chosen with --manifest"), "\(log.stdout)")
    }

    @Test("an expired release (signed with the openssl CLI) is refused, and the next publish renews it")
    func expiredReleaseRefusedThenRenewed() throws {
        let signed = try SignedFixture(files: 1)
        let published = try signed.publish()
        #expect(published.status == 0, "\(published.stderr)")
        let manifest = try #require(published.json["manifest"] as? String)
        let statement = #"{"channel":"latest","expires":"2020-01-02T00:00:00Z","issued":"2020-01-01T00:00:00Z","manifest":"\#(manifest)","schema":"model-sync.release.v1","sequence":5}"#
        let envelope = try opensslEnvelope(statement, keyPath: signed.sandbox.path + "/publisher.pem",
                                           publicKey: signed.publicKey, in: signed.sandbox)
        try signed.editRegistry { checkout in
            try envelope.write(toFile: checkout + "/models/channels/latest.release.json", atomically: true, encoding: .utf8)
        }
        let pulled = try signed.pull()
        #expect(pulled.status == 3, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("expired at 2020-01-02T00:00:00Z"), "\(pulled.stderr)")
        #expect(try signed.activeManifest() == nil)

        let renewed = try signed.publish()
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(renewed.json["result"] as? String == "published")
        let again = try signed.pull()
        #expect(again.status == 0, "\(again.stderr)")
        let verify = try signed.sandbox.cli.run(["verify", "--config", "client.yaml", "--json"])
        #expect((verify.json["release"] as? [String: Any])?["sequence"] as? Int == 6, "\(verify.stdout)")
    }

    @Test("a release signed by the openssl CLI over the canonical bytes is accepted; ours verifies with openssl pkeyutl")
    func opensslInterop() throws {
        let signed = try SignedFixture(files: 1)
        let published = try signed.publish()
        let manifest = try #require(published.json["manifest"] as? String)
        // Ours → openssl: extract the statement and signature as docs/signing.md says, and verify.
        let extract = """
            cd '\(signed.sandbox.path)' && git --git-dir=registry.git show main:models/channels/latest.release.json > release.json \
            && python3 -c 'import json,base64,sys; d=json.load(open("release.json")); sys.stdout.buffer.write(base64.b64decode(d["statement"]))' > statement.bin \
            && python3 -c 'import json,base64,sys; d=json.load(open("release.json")); sys.stdout.buffer.write(base64.b64decode(d["signatures"][0]["signature"]))' > sig.bin \
            && openssl pkey -in publisher.pem -pubout -out pub.pem \
            && openssl pkeyutl -verify -rawin -pubin -inkey pub.pem -in statement.bin -sigfile sig.bin
            """
        #expect(shell(extract) == 0)
        // openssl → ours: a later release made by hand with a key from `openssl genpkey`, trusted by the client.
        #expect(shell("cd '\(signed.sandbox.path)' && openssl genpkey -algorithm ed25519 -out hand.pem && openssl pkey -in hand.pem -pubout -outform DER | tail -c 32 > hand.raw") == 0)
        let handKey = "ed25519:" + Data(signed.sandbox.read("hand.raw")).base64EncodedString()
        let client = signed.sandbox.write("client.yaml", """
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "file://\(signed.sandbox.path)/registry.git"
              signing:
                trusted_keys:
                  - "\(handKey)"
            """)
        _ = client
        let expires = Date().addingTimeInterval(86_400).rfc3339Text
        let release = #"{"channel":"latest","expires":"\#(expires)","issued":"2026-01-01T00:00:00Z","manifest":"\#(manifest)","schema":"model-sync.release.v1","sequence":9}"#
        let manifestStatement = #"{"manifest":"\#(manifest)","schema":"model-sync.signature.v1"}"#
        let keyPath = signed.sandbox.path + "/hand.pem"
        let releaseFile = try opensslEnvelope(release, keyPath: keyPath, publicKey: handKey, in: signed.sandbox)
        let manifestFile = try opensslEnvelope(manifestStatement, keyPath: keyPath, publicKey: handKey, in: signed.sandbox)
        try signed.editRegistry { checkout in
            try releaseFile.write(toFile: checkout + "/models/channels/latest.release.json", atomically: true, encoding: .utf8)
            try manifestFile.write(toFile: checkout + "/models/manifests/sha256/\(manifest.dropFirst(7)).sig.json", atomically: true, encoding: .utf8)
        }
        let pulled = try signed.pull()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try signed.activeManifest() == manifest)
    }

    @Test("gc --registry removes an old manifest's signature file with it; the kept sets still verify")
    func registryGCRemovesSignatures() throws {
        let signed = try SignedFixture(files: 1, publisherExtra: "  registry: {keep_manifests: 1}")
        let v1 = try #require(try signed.publish().json["manifest"] as? String)
        signed.sandbox.write("publisher/models/set/extra.bin", Array("v2".utf8))
        #expect(try signed.publish().status == 0)
        let gc = try signed.sandbox.cli.run(["gc", "--registry", "--config", "publisher.yaml", "--json"])
        #expect(gc.status == 0, "\(gc.stderr)")
        let tree = signed.fixture.git(["ls-tree", "-r", "--name-only", "main"])
        #expect(!tree.contains(String(v1.dropFirst(7))), "\(tree)")
        #expect(tree.contains("channels/latest.release.json"))
        #expect(try signed.pull().status == 0)
    }

    @Test("signing.key_file missing or not a key: publish exits 2 and pushes nothing")
    func missingKeyFileRefusesToPublish() throws {
        let signed = try SignedFixture(files: 1)
        #expect(shell("mv '\(signed.sandbox.path)/publisher.pem' '\(signed.sandbox.path)/elsewhere.pem'") == 0)
        let missing = try signed.publish()
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("signing.key_file publisher.pem does not exist"), "\(missing.stderr)")
        signed.sandbox.write("publisher.pem", "not a key\n")
        let garbage = try signed.publish()
        #expect(garbage.status == 2, "\(garbage.stderr)")
        #expect(garbage.stderr.contains("is not an Ed25519 private key"), "\(garbage.stderr)")
        #expect(gitCLI(["rev-parse", "--verify", "main"], in: signed.fixture.registry).status != 0, "something was pushed")
    }

    @Test("keygen refuses to overwrite, writes mode 0600, and --json prints only the public half")
    func keygen() throws {
        let sandbox = Sandbox()
        let made = try sandbox.cli.run(["keygen", "--out", "k.pem", "--json"])
        #expect(made.status == 0)
        #expect(Set(made.json.keys) == ["public_key", "key_id"])
        let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.path + "/k.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let before = sandbox.read("k.pem")
        let again = try sandbox.cli.run(["keygen", "--out", "k.pem"])
        #expect(again.status == 2)
        #expect(sandbox.read("k.pem") == before)
        // The public key matches what openssl derives from the PEM.
        #expect(shell("cd '\(sandbox.path)' && openssl pkey -in k.pem -pubout -outform DER | tail -c 32 > raw.bin") == 0)
        #expect(made.json["public_key"] as? String == "ed25519:" + Data(sandbox.read("raw.bin")).base64EncodedString())
        #expect(made.json["key_id"] as? String == "sha256:" + sha256Hex(sandbox.read("raw.bin")))
    }
}

extension Date {
    /// RFC 3339 in UTC to the second, as statements write it.
    var rfc3339Text: String { formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)) }
}
