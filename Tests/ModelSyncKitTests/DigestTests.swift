import Foundation
import Testing
@testable import ModelSyncKit

@Suite("Digest and SHA-256")
struct DigestTests {
    @Test("known answers: empty input and \"abc\"")
    func knownAnswers() {
        #expect(SHA256.hash([UInt8]()).description
            == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).description
            == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("parsing rejects uppercase, short and unprefixed digests")
    func parsingRejects() {
        #expect(throws: IntegrityError.self) { try Digest(parsing: "sha256:" + String(repeating: "A", count: 64)) }
        #expect(throws: IntegrityError.self) { try Digest(parsing: "sha256:abc") }
        #expect(throws: IntegrityError.self) { try Digest(parsing: String(repeating: "a", count: 64)) }
        #expect((try? Digest(parsing: String(repeating: "a", count: 64), allowBareHex: true)) != nil)
    }
}
