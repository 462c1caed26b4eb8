import Foundation
import Testing
@testable import ModelSyncKit

@Suite("SHA-256 through OpenSSL EVP")
struct SHA256Tests {
    @Test("a 1 MiB pattern fed in uneven chunks hashes like one buffer and like the known answer")
    func pattern() {
        let pattern = (0..<(1 << 20)).map { UInt8($0 % 251) }
        let whole = SHA256.hash(pattern)
        let hasher = SHA256()
        var offset = 0
        for size in [1, 7, 4096, 65_537, 300_000] where offset < pattern.count {
            let end = min(pattern.count, offset + size)
            hasher.update(Array(pattern[offset..<end]))
            offset = end
        }
        hasher.update(Array(pattern[offset...]))
        #expect(hasher.finalize() == whole)
        // Computed once with: python3 -c "import hashlib;print(hashlib.sha256(bytes(i%251 for i in range(1<<20))).hexdigest())"
        #expect(whole.description == "sha256:" + SHA256Tests.patternDigest)
    }

    static let patternDigest = "631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769"

    @Test("hashing a file agrees with `openssl dgst -sha256`")
    func fileAgreesWithOpenSSL() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("blob", pseudoRandomBytes(count: 3 * 1_048_576 + 17, seed: 42))
        let (digest, size) = try ObjectStore.hashFile(at: path)
        #expect(size == 3 * 1_048_576 + 17)
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-r", path]
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.hasPrefix(digest.hex + " "))
    }
}
