import Foundation
import Testing
@testable import ModelSyncKit

/// A fresh directory per test, removed by the caller's `defer`.
private func makeDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("zip-writer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func write(_ bytes: [UInt8], to url: URL, mode: Int, modified: Date) throws {
    try Data(bytes).write(to: url)
    try FileManager.default.setAttributes([.posixPermissions: mode, .modificationDate: modified], ofItemAtPath: url.path)
}

private func readAll(_ archive: ZipArchive, _ entry: ZipEntry) throws -> [UInt8] {
    var bytes: [UInt8] = []
    try archive.read(entry: entry) { bytes.append(contentsOf: $0) }
    return bytes
}

@Suite("ZipWriter writes deterministic archives")
struct ZipWriterTests {
    let manifest = Array("{\"schema\":1}\n".utf8)
    let blob = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
    let script = Array("#!/bin/sh\necho ok\n".utf8)

    /// Writes the three sample files into `directory` with the given source mode and time, then an archive.
    private func makeArchive(in directory: URL, mode: Int, modified: Date) throws -> URL {
        let sources = directory.appendingPathComponent("sources")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        try write(manifest, to: sources.appendingPathComponent("m"), mode: mode, modified: modified)
        try write(blob, to: sources.appendingPathComponent("b"), mode: mode, modified: modified)
        try write(script, to: sources.appendingPathComponent("s"), mode: mode, modified: modified)
        let archive = directory.appendingPathComponent("out.zip")
        try ZipWriter.write(to: archive.path, entries: [
            ("manifest.json", sources.appendingPathComponent("m").path, .deflate, false),
            ("objects/sha256/ab/blob", sources.appendingPathComponent("b").path, .store, false),
            ("bin/run.sh", sources.appendingPathComponent("s").path, .deflate, true),
        ])
        return archive
    }

    @Test("the same entries give byte-identical archives whatever the sources' times and modes")
    func deterministic() throws {
        let first = try makeDirectory()
        let second = try makeDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let a = try makeArchive(in: first, mode: 0o600, modified: Date(timeIntervalSince1970: 1_000_000))
        let b = try makeArchive(in: second, mode: 0o755, modified: Date(timeIntervalSince1970: 1_700_000_000))
        let bytesA = try Data(contentsOf: a)
        #expect(bytesA == (try Data(contentsOf: b)))
        // Only the archive is left: the temporary file was renamed into place.
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.path).sorted() == ["out.zip", "sources"])
    }

    @Test("reading back gives the entries in order with their bytes, methods and fixed attributes")
    func readBack() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try makeArchive(in: directory, mode: 0o600, modified: Date())
        let archive = try ZipArchive(path: path.path)
        #expect(archive.entries.map(\.name) == ["manifest.json", "objects/sha256/ab/blob", "bin/run.sh"])
        #expect(try readAll(archive, archive.entries[0]) == manifest)
        #expect(try readAll(archive, archive.entries[1]) == blob)
        #expect(try readAll(archive, archive.entries[2]) == script)
        #expect(archive.entries.map(\.compressionMethod) == [.deflate, .store, .deflate])
        #expect(archive.entries.map(\.unixMode) == [0o100644, 0o100644, 0o100755])
        #expect(archive.entries[1].compressedSize == UInt64(blob.count))
        // 1980-01-01 00:00 as an MS-DOS date and time: bytes 10...13 of the first local header.
        let bytes = try Data(contentsOf: path)
        #expect(Array(bytes[10..<14]) == [0x00, 0x00, 0x21, 0x00])

        // An independent reader (Python's zipfile) accepts the archive and sees the same attributes.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, zipfile
            archive = zipfile.ZipFile(sys.argv[1])
            assert archive.testzip() is None
            for i in archive.infolist():
                print(i.filename, i.create_system, oct(i.external_attr >> 16), i.date_time, i.extra.hex() or "-")
            """, path.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text == """
            manifest.json 3 0o100644 (1980, 1, 1, 0, 0, 0) -
            objects/sha256/ab/blob 3 0o100644 (1980, 1, 1, 0, 0, 0) -
            bin/run.sh 3 0o100755 (1980, 1, 1, 0, 0, 0) -

            """)
    }

    @Test("a missing source file fails and leaves nothing behind")
    func missingSource() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("out.zip").path
        let writer = try ZipWriter(creatingAt: target)
        let missing = directory.appendingPathComponent("absent").path
        let error = #expect(throws: IOError.self) { try writer.addFile(at: missing, as: "absent") }
        #expect(error?.errno == ENOENT)
        #expect(error?.message == "stat \(missing): No such file or directory")
        #expect(throws: ZipError.self) { try writer.addFile(at: directory.path, as: "a-directory") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("a source that vanishes before commit makes commit fail without touching the target")
    func failedClose() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source")
        try Data("data".utf8).write(to: source)
        let target = directory.appendingPathComponent("out.zip")
        try Data("previous".utf8).write(to: target)

        let writer = try ZipWriter(creatingAt: target.path)
        try writer.addFile(at: source.path, as: "data")
        try FileManager.default.removeItem(at: source)
        #expect(throws: ZipError.self) { try writer.commit() }
        #expect(try Data(contentsOf: target) == Data("previous".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.zip"])
    }

    @Test("adding a name twice fails with ZIP_ER_EXISTS")
    func duplicateName() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source")
        try Data("data".utf8).write(to: source)
        let writer = try ZipWriter(creatingAt: directory.appendingPathComponent("out.zip").path)
        try writer.addFile(at: source.path, as: "same")
        var caught: ZipError?
        do { try writer.addFile(at: source.path, as: "same") } catch let error as ZipError { caught = error }
        #expect(caught?.code == .exists)
        #expect(caught?.entryName == "same")
    }

    @Test("an archive without entries is still written and opens empty")
    func emptyArchive() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("empty.zip").path
        try ZipWriter(creatingAt: target).commit()
        #expect(try ZipArchive(path: target).entries.isEmpty)
    }

    @Test("a writer dropped without commit leaves nothing behind")
    func droppedWriter() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source")
        try Data("data".utf8).write(to: source)
        do {
            let writer = try ZipWriter(creatingAt: directory.appendingPathComponent("out.zip").path)
            try writer.addFile(at: source.path, as: "data")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["source"])
    }
}
