import Foundation
import Testing
@testable import ModelSyncKit

/// Fixtures/fuzz/zip/: inputs of the zip fuzz target, crashes it found among them.
private let zipCorpus = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/fuzz/zip").path

@Suite("ZipArchive reading entries whose declared size is hostile")
struct ZipArchiveDeclaredSizeTests {
    @Test("an entry declaring 2^64 − 1 bytes (Zip64) fails as inconsistent (libzip) instead of trapping")
    func maximumDeclaredSize() throws {
        let archive = try ZipArchive(path: zipCorpus + "/crash-zip64-size-max.zip")
        let entry = try #require(archive.entries.first)
        #expect(entry.size == UInt64.max)
        var received: [UInt8] = []
        let error = try #require(throws: ZipError.self) {
            try archive.read(entry: entry) { received.append(contentsOf: $0) }
        }
        // libzip sees the stored data end before the declared size: ZIP_ER_INCONS.
        #expect(error.code == .inconsistent)
        #expect(received == Array("hello".utf8))
    }

    @Test("an entry declaring 1 TiB but holding 5 bytes fails as inconsistent (libzip) after those bytes")
    func largeDeclaredSize() throws {
        let archive = try ZipArchive(path: zipCorpus + "/zip64-declares-1tib.zip")
        let entry = try #require(archive.entries.first)
        #expect(entry.size == 1 << 40)
        var received = 0
        let error = try #require(throws: ZipError.self) {
            try archive.read(entry: entry) { received += $0.count }
        }
        // libzip sees the stored data end before the declared size: ZIP_ER_INCONS.
        #expect(error.code == .inconsistent)
        #expect(received == 5)
    }
}
