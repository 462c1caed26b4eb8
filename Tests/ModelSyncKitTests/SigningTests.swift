import Foundation
import ModelSyncTestSupport
import Testing
@testable import ModelSyncKit

@Suite("Ed25519 signatures, statements and the signature policy")
struct SigningTests {
    private let digest = try! Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))

    @Test("sign/verify round trip; a flipped statement or signature byte, or another key, fails")
    func roundTrip() throws {
        let key = Ed25519PrivateKey.generate()
        let message = ManifestStatement(manifest: digest).canonicalBytes
        let signature = key.sign(message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, of: message))
        for index in [0, message.count / 2, message.count - 1] {
            var tampered = message
            tampered[index] ^= 0x01
            #expect(!key.publicKey.isValidSignature(signature, of: tampered))
        }
        for index in [0, 31, 63] {
            var tampered = signature
            tampered[index] ^= 0x80
            #expect(!key.publicKey.isValidSignature(tampered, of: message))
        }
        #expect(!key.publicKey.isValidSignature(Array(signature.prefix(63)), of: message))
        #expect(!Ed25519PrivateKey.generate().publicKey.isValidSignature(signature, of: message))
    }

    @Test("PEM written and read back keeps the key; text form and key id are as documented")
    func pemAndTextForms() throws {
        let key = Ed25519PrivateKey.generate()
        let pem = String(decoding: key.pemBytes, as: UTF8.self)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let again = try Ed25519PrivateKey(pem: key.pemBytes)
        #expect(again.publicKey == key.publicKey)
        let text = key.publicKey.description
        #expect(text.hasPrefix("ed25519:") && Ed25519PublicKey(parsing: text) == key.publicKey)
        #expect(key.publicKey.keyID == SHA256.hash(key.publicKey.raw).description)
        for bad in ["ed25519:", "ed25519:AAAA", "rsa:" + text.dropFirst(8), String(text.dropFirst(8)), "ed25519:!!!"] {
            #expect(Ed25519PublicKey(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test("a key from `openssl genpkey -algorithm ed25519` is read; another algorithm or garbage is refused without echoing it")
    func opensslKeys() throws {
        let directory = TemporaryDirectory()
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/bin/sh")
        made.arguments = ["-c", "cd '\(directory.path)' && openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null "
                          + "&& openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null"]
        try made.run()
        made.waitUntilExit()
        #expect(made.terminationStatus == 0)
        let key = try Ed25519PrivateKey(pem: directory.read("ed.pem"))
        #expect(key.publicKey.raw.count == 32)
        let ec = directory.read("ec.pem")
        #expect(throws: Ed25519KeyError.self) { try Ed25519PrivateKey(pem: ec) }
        do {
            _ = try Ed25519PrivateKey(pem: Array("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n".utf8))
            Issue.record("garbage accepted")
        } catch {
            #expect(!error.description.contains("c2VjcmV0"))
        }
    }

    @Test("statements are RFC 8785 canonical bytes and decode back")
    func statements() throws {
        #expect(String(decoding: ManifestStatement(manifest: digest).canonicalBytes, as: UTF8.self)
                == #"{"manifest":"\#(digest)","schema":"model-sync.signature.v1"}"#)
        let release = ReleaseStatement(channel: "latest", manifest: digest, sequence: 12,
                                       issued: Date(timeIntervalSince1970: 1_700_000_000.7),
                                       expires: Date(timeIntervalSince1970: 1_700_691_200))
        #expect(String(decoding: release.canonicalBytes, as: UTF8.self)
                == #"{"channel":"latest","expires":"2023-11-22T22:13:20Z","issued":"2023-11-14T22:13:20Z","manifest":"\#(digest)","schema":"model-sync.release.v1","sequence":12}"#)
        #expect(try ReleaseStatement.decode(release.canonicalBytes, name: "r") == release)
        #expect(throws: IntegrityError.self) { try ManifestStatement.decode(release.canonicalBytes, name: "r") }
        #expect(throws: IntegrityError.self) { try ReleaseStatement.decode(Array(#"{"schema":"model-sync.release.v1","sequence":-1}"#.utf8), name: "r") }
    }

    @Test("the policy counts distinct trusted keys; unknown keys and bad signatures are named")
    func policy() throws {
        let (a, b, stranger) = (Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate())
        let statement = ManifestStatement(manifest: digest).canonicalBytes
        let two = SignaturePolicy(trustedKeys: [a.publicKey, b.publicKey], threshold: 2)
        let both = SignatureEnvelope(statement: statement, signedBy: [a, b])
        #expect(try two.verify(SignatureEnvelope.decode(both.encoded, name: "f"), name: "f").count == 2)
        // The same key twice is one signer.
        let twice = SignatureEnvelope(statement: statement, signedBy: [a, a])
        #expect(throws: IntegrityError.self) { try two.verify(twice, name: "f") }
        let strangers = SignatureEnvelope(statement: statement, signedBy: [stranger])
        do {
            _ = try SignaturePolicy(trustedKeys: [a.publicKey], threshold: 1).verify(strangers, name: "f")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.message.contains("is not in signing.trusted_keys"))
        }
        let forged = SignatureEnvelope(statement: statement, signatures: [.init(keyID: a.publicKey.keyID, bytes: b.sign(statement))])
        #expect(throws: IntegrityError.self) { try SignaturePolicy(trustedKeys: [a.publicKey], threshold: 1).verify(forged, name: "f") }
        #expect(throws: IntegrityError.self) { try SignatureEnvelope.decode(Array("{}".utf8), name: "f") }
    }

    @Test("re-signing a manifest keeps other keys' signatures and adds this key's only when missing")
    func mergingManifestSignatures() throws {
        let (publisher, approver) = (Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate())
        let signer = ReleaseSigner(key: publisher, expiresSec: 3600)
        let statement = ManifestStatement(manifest: digest).canonicalBytes
        let cosigned = SignatureEnvelope(statement: statement, signedBy: [approver]).encoded
        let merged = try #require(signer.manifestSignature(digest, merging: cosigned))
        let policy = SignaturePolicy(trustedKeys: [publisher.publicKey, approver.publicKey], threshold: 2)
        #expect(try policy.verify(SignatureEnvelope.decode(merged, name: "f"), name: "f").count == 2)
        #expect(signer.manifestSignature(digest, merging: merged) == nil)
        #expect(signer.manifestSignature(digest, merging: Array("junk".utf8)) != nil)
    }

    @Test("accepted releases only move forward and live in a file beside the index")
    func acceptedReleases() throws {
        let directory = TemporaryDirectory()
        let record = AcceptedReleases(storeRoot: directory.path)
        let now = Date()
        try record.record(ReleaseStatement(channel: "latest", manifest: digest, sequence: 3, issued: now, expires: now), keyIDs: ["k"])
        try record.record(ReleaseStatement(channel: "latest", manifest: digest, sequence: 2, issued: now, expires: now), keyIDs: ["k"])
        #expect(try record.entry("latest")?.sequence == 3)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/releases.json"))
    }

    @Test("metrics give the seconds until the active set's release expires, read from the accepted releases")
    func expiryMetric() throws {
        let directory = TemporaryDirectory()
        let expires = Date().addingTimeInterval(3600)
        try AcceptedReleases(storeRoot: directory.path).record(
            ReleaseStatement(channel: "latest", manifest: digest, sequence: 1, issued: Date(), expires: expires), keyIDs: ["k"])
        var metrics = DaemonMetrics()
        metrics.active = .init(generation: 1, manifest: digest, releaseExpires: expires)
        let text = metrics.render(role: .client)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("model_sync_release_expiry_seconds{") })
        let value = try #require(Int(line.split(separator: " ").last!))
        #expect((3590...3600).contains(value), "\(line)")
        #expect(text.contains("model_sync_release_expires_timestamp_seconds{role=\"client\"} \(Int(expires.timeIntervalSince1970))"))
        #expect(!DaemonMetrics().render(role: .client).contains("model_sync_release_expiry_seconds"))
    }

    @Test("signing: config keys, the threshold bound and the key sources")
    func config() throws {
        let key = Ed25519PrivateKey.generate().publicKey
        let config = try ConfigTests.parse("""
              signing:
                key_env: PUBLISHER_KEY
                trusted_keys:
                  - "\(key)"
                expires_sec: 86400
            """)
        #expect(config.signing.trustedKeys == [key] && config.signing.threshold == 1 && config.signing.expiresSec == 86400)
        #expect(config.secretVariables.contains("PUBLISHER_KEY"))
        #expect(throws: ConfigError.self) { try ConfigTests.parse("  signing:\n    trusted_keys: [\"ed25519:AAAA\"]\n") }
        #expect(throws: ConfigError.self) { try ConfigTests.parse("  signing:\n    trusted_keys: \"\(key)\"\n") }
        #expect(throws: ConfigError.self) { try ConfigTests.parse("  signing:\n    trusted_keys: [\"\(key)\"]\n    threshold: 2\n") }
        #expect(throws: ConfigError.self) { try ConfigTests.parse("  signing:\n    key_file: a.pem\n    key_env: K\n") }
        #expect(throws: ConfigError.self) { try ConfigTests.parse("  signing:\n    expires_sec: 10\n") }
    }
}
