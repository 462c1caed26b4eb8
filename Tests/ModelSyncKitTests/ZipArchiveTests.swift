import Foundation
import Testing
@testable import ModelSyncKit

/// The committed fixtures, found from this file's location (the package root is two levels up).
private let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/archives")

private func fixture(_ name: String) -> String {
    fixturesDirectory.appendingPathComponent(name).path
}

private func readAll(_ archive: ZipArchive, _ entry: ZipEntry) throws -> [UInt8] {
    var bytes: [UInt8] = []
    try archive.read(entry: entry) { bytes.append(contentsOf: $0) }
    return bytes
}

private func zipError(_ body: () throws -> Void) -> ZipError? {
    do {
        try body()
        return nil
    } catch let error as ZipError {
        return error
    } catch {
        Issue.record("expected a ZipError, got \(error)")
        return nil
    }
}

@Suite("ZipArchive reads archives and exposes hostile properties")
struct ZipArchiveTests {
    @Test("the legacy fixture lists its names, sizes and directories, and its contents read back")
    func legacyFixture() throws {
        let archive = try ZipArchive(path: fixture("legacy-valid.zip"))
        #expect(archive.entries.map(\.name) == [
            "README.txt", "models/", "models/btc/", "models/btc/model.onnx", "models/eth/", "models/eth/model.onnx",
        ])
        #expect(archive.entries.map(\.index) == Array(0..<6))
        #expect(archive.entries.filter(\.isDirectory).map(\.name) == ["models/", "models/btc/", "models/eth/"])

        let readme = archive.entries[0]
        let readmeText = Array(String(repeating: "Models trained by the worker.\n", count: 8).utf8)
        #expect(readme.compressionMethod == .deflate)
        #expect(readme.size == UInt64(readmeText.count))
        #expect(readme.compressedSize < readme.size)
        #expect(try readAll(archive, readme) == readmeText)

        let btc = archive.entries[3]
        #expect(btc.compressionMethod == .store)
        #expect(btc.unixMode == 0o100644)
        #expect(!btc.isSymbolicLink && !btc.isEncrypted)
        #expect(try readAll(archive, btc) == Array("btc-onnx-bytes".utf8) + [0, 1, 2, 10])

        let eth = archive.entries[5]
        #expect(eth.compressionMethod == .deflate)
        #expect(try archive.contents(of: eth) == Array(String(repeating: "eth-onnx-bytes ", count: 64).utf8))
        #expect(eth.crc32 != 0)
    }

    @Test("the delta fixture holds manifest.json and objects named after their SHA-256")
    func deltaFixture() throws {
        let archive = try ZipArchive(path: fixture("delta-valid.zip"))
        #expect(archive.entries.first?.name == "manifest.json")
        let objects = archive.entries.filter { $0.name.hasPrefix("objects/sha256/") }
        #expect(objects.count == 2)
        for object in objects {
            let hex = SHA256.hash(try archive.contents(of: object)).hex
            #expect(object.name == "objects/sha256/\(hex.prefix(2))/\(hex)")
        }
    }

    @Test("hostile names come through byte for byte")
    func hostileNames() throws {
        let cases: [(String, [UInt8])] = [
            ("hostile-dotdot.zip", Array("../evil".utf8)),
            ("hostile-absolute.zip", Array("/abs/path".utf8)),
            ("hostile-backslash.zip", Array("back\\slash".utf8)),
            ("hostile-control-char.zip", Array("control".utf8) + [0x01] + Array("char.txt".utf8)),
        ]
        for (file, rawName) in cases {
            let archive = try ZipArchive(path: fixture(file))
            #expect(archive.entries.count == 1)
            #expect(archive.entries[0].rawName == rawName, "\(file)")
            #expect(Array(archive.entries[0].name.utf8) == rawName, "\(file)")
            #expect(archive.entries[0].name.unicodeScalars.contains { $0.value < 0x20 } == rawName.contains(0x01))
            #expect(try readAll(archive, archive.entries[0]) == Array("hostile\n".utf8))
        }
    }

    @Test("a symlink entry shows S_IFLNK in its Unix mode and its target as data")
    func symlink() throws {
        let archive = try ZipArchive(path: fixture("hostile-symlink.zip"))
        let link = try #require(archive.entries.first { $0.name == "models/btc/link" })
        #expect(link.hostSystem == ZipEntry.unixHostSystem)
        #expect(link.unixMode == 0o120777)
        #expect(link.isSymbolicLink)
        #expect(!archive.entries[0].isSymbolicLink)
        #expect(try readAll(archive, link) == Array("../../../etc/passwd".utf8))
    }

    @Test("duplicate names make opening fail with ZIP_ER_EXISTS")
    func duplicateNames() throws {
        let path = fixture("hostile-duplicate.zip")
        let error = try #require(zipError { _ = try ZipArchive(path: path) })
        #expect(error.code == .exists)
        #expect(error.category == .integrity)
        #expect(error.message == "zip archive \(path): File already exists")
    }

    @Test("a CRC mismatch surfaces as ZIP_ER_CRC when the entry is read")
    func crcError() throws {
        let path = fixture("hostile-crc.zip")
        let archive = try ZipArchive(path: path)
        let error = try #require(zipError { _ = try readAll(archive, archive.entries[0]) })
        #expect(error.code == .crc)
        #expect(error.category == .integrity)
        #expect(error.message == "zip archive \(path), entry \"models/btc/model.onnx\": CRC error")
    }

    @Test("an entry yielding more than its declared size stops one byte past it")
    func oversizedEntry() throws {
        let path = fixture("hostile-oversize.zip")
        let archive = try ZipArchive(path: path)
        let entry = archive.entries[0]
        #expect(entry.size == 1000)
        var delivered = 0
        let error = try #require(zipError { try archive.read(entry: entry) { delivered += $0.count } })
        #expect(error.code == .entryLongerThanDeclared)
        #expect(error.category == .integrity)
        #expect(delivered <= 1000)
        #expect(error.message == "zip archive \(path), entry \"models/btc/model.onnx\": "
            + "the data is longer than the declared size of 1000 bytes")
    }

    @Test("an entry ending before its declared size fails the read")
    func undersizedEntry() throws {
        let path = fixture("hostile-undersize.zip")
        let archive = try ZipArchive(path: path)
        #expect(archive.entries[0].size == 5000)
        let error = try #require(zipError { _ = try readAll(archive, archive.entries[0]) })
        #expect(error.code == .entryShorterThanDeclared)
        #expect(error.category == .integrity)
        #expect(error.message == "zip archive \(path), entry \"models/btc/model.onnx\": "
            + "the data ends after 4096 of the declared 5000 bytes")
    }

    @Test("a zip bomb shows its ratio in the declared sizes and streams in chunks of at most 1 MiB")
    func zipBomb() throws {
        let archive = try ZipArchive(path: fixture("hostile-bomb.zip"))
        let entry = archive.entries[0]
        #expect(entry.size == 4 << 20)
        #expect(entry.size / entry.compressedSize > 200)
        var total = 0
        var largestChunk = 0
        var allZero = true
        try archive.read(entry: entry) { chunk in
            total += chunk.count
            largestChunk = max(largestChunk, chunk.count)
            allZero = allZero && !chunk.contains { $0 != 0 }
        }
        #expect(total == 4 << 20)
        #expect(largestChunk <= 1 << 20)
        #expect(allZero)
        let error = try #require(zipError { _ = try archive.contents(of: entry, limit: 1 << 20) })
        #expect(error.code == .entryTooLarge)
    }

    @Test("an encrypted entry is flagged and refuses to be read without a password")
    func encryptedEntry() throws {
        let archive = try ZipArchive(path: fixture("hostile-encrypted.zip"))
        let entry = archive.entries[0]
        #expect(entry.isEncrypted)
        #expect(entry.encryptionMethod == .traditionalPKWARE)
        let error = try #require(zipError { _ = try readAll(archive, entry) })
        #expect(error.code == .noPassword)
        #expect(error.category == .integrity)
    }

    @Test("truncated and non-zip files fail to open with libzip's message")
    func notAnArchive() throws {
        for file in ["hostile-truncated.zip", "hostile-not-a-zip.zip"] {
            let path = fixture(file)
            let error = try #require(zipError { _ = try ZipArchive(path: path) })
            #expect(error.code == .notAZip, "\(file)")
            #expect(error.category == .integrity)
            #expect(error.message == "zip archive \(path): Not a zip archive")
        }
    }

    @Test("a missing archive is a usage error naming the path, an unreadable one an I/O error")
    func missingArchive() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let missing = directory.appendingPathComponent("absent.zip").path
        let error = try #require(zipError { _ = try ZipArchive(path: missing) })
        #expect(error.code == .noSuchFile)
        #expect(error.category == .usage)
        #expect(error.message == "zip archive \(missing): No such file")

        // A directory where an archive is expected: libzip cannot read it as a file.
        let notAFile = try #require(zipError { _ = try ZipArchive(path: directory.path) })
        #expect(notAFile.category != .usage)
        #expect(notAFile.message.hasPrefix("zip archive \(directory.path): "))
    }

    @Test("re-running make_fixtures.py reproduces the committed fixtures byte for byte")
    func fixturesAreReproducible() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("zip-fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fixture("make_fixtures.py"), output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let generated = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        let committed = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path)
            .filter { $0.hasSuffix(".zip") }.sorted()
        #expect(generated == committed)
        #expect(generated.count >= 15)
        for name in generated {
            let fresh = try Data(contentsOf: output.appendingPathComponent(name))
            let stored = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            #expect(fresh == stored, "\(name) differs from a fresh run of make_fixtures.py")
            #expect(stored.count < 100_000)
        }
    }
}
