import Foundation
import Testing
@testable import ModelSyncKit

/// The size check groups entries by digest; it must still report the first problem in path order.
@Suite("a manifest's size problems are reported in path order")
struct ManifestSizeOrderTests {
    private let x = SHA256.hash(Array("x".utf8))
    private let y = SHA256.hash(Array("y".utf8))

    @Test("an empty-file digest with a size, before a digest with two sizes, is the one reported")
    func emptyDigestFirst() throws {
        let error = try #require(throws: IntegrityError.self) {
            try Manifest(files: [ManifestEntry(path: "a", size: 12, digest: x), ManifestEntry(path: "b", size: 5, digest: .empty),
                                 ManifestEntry(path: "c", size: 13, digest: x)])
        }
        #expect(error.message.hasPrefix("manifest path \"b\" has size 5"))
    }

    @Test("of two digests with two sizes each, the conflict met first in path order is reported, against the first path")
    func firstConflict() throws {
        let entries = [ManifestEntry(path: "a", size: 1, digest: y), ManifestEntry(path: "b", size: 12, digest: x),
                       ManifestEntry(path: "c", size: 12, digest: x), ManifestEntry(path: "d", size: 13, digest: x),
                       ManifestEntry(path: "e", size: 2, digest: y), ManifestEntry(path: "f", size: 0, digest: .empty)]
        let error = try #require(throws: IntegrityError.self) { try Manifest(files: entries) }
        // Whichever digest sorts first, "d" comes before "e" in path order.
        #expect(error.message == "manifest lists \(x) with two sizes: 12 bytes for \"b\" and 13 for \"d\"")
    }

    @Test("many entries sharing digests, all consistent, are accepted")
    func consistentDuplicates() throws {
        let entries = (0..<500).map { ManifestEntry(path: "f\($0)", size: $0 % 2 == 0 ? 1 : 2, digest: $0 % 2 == 0 ? SHA256.hash([1]) : SHA256.hash([2, 2])) }
        #expect(try Manifest(files: entries).files.count == 500)
    }
}
