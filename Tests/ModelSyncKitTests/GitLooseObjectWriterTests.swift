import Foundation
import Testing
@testable import ModelSyncKit

/// Runs the git CLI in `directory` with no user configuration; returns its trimmed output (stdout and stderr).
@discardableResult
private func git(_ arguments: [String], in directory: String, input: [UInt8]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-c", "init.defaultBranch=main"] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    environment["GIT_CONFIG_NOSYSTEM"] = "1"
    environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
    process.environment = environment
    let pipe = Pipe()
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0 else { throw UsageError("git \(arguments) failed: \(text)") }
    return text
}

@Suite("loose objects of stored zlib blocks")
struct GitLooseObjectWriterTests {
    @Test("a stored-block blob has git's id, passes git fsck --strict, and reads back through git and libgit2",
          arguments: [0, 1, 65_535 - 11, 65_535 - 10, 200_000, (1 << 20) + 12_345])
    func roundTrip(size: Int) throws {
        let directory = TemporaryDirectory("git-loose")
        let repository = try Repository.create(at: directory.path + "/repo")
        let content = pseudoRandomBytes(count: size, seed: UInt64(size) + 1)
        let file = directory.write("content.bin", content)

        let oid = try repository.writeStoredBlob(fromFileAt: file)
        #expect(oid.hex == (try git(["hash-object", file], in: directory.path)))
        let loose = try repository.objectsDirectory + "/" + oid.hex.prefix(2) + "/" + oid.hex.dropFirst(2)
        let attributes = try FileManager.default.attributesOfItem(atPath: loose)
        #expect((attributes[.posixPermissions] as? Int) == 0o444)
        // Stored blocks: the object is its content plus a few bytes of framing, not deflated.
        let header = "blob \(size)\0".utf8.count
        let framing = try #require(attributes[.size] as? Int) - (2 + header + size + 4)
        let mostBlocks = 1 + (size + 65_534) / 65_535 + (size >> 20) + 1
        #expect(framing % 5 == 0 && framing >= 10 && framing <= 5 * mostBlocks)

        let repo = directory.path + "/repo"
        #expect(try git(["cat-file", "-t", oid.hex], in: repo) == "blob")
        #expect(try git(["cat-file", "-s", oid.hex], in: repo) == "\(size)")
        try git(["cat-file", "blob", oid.hex], in: repo)  // inflates and checks the stream
        #expect(try git(["fsck", "--strict", "--no-dangling"], in: repo).contains("error") == false)

        var read: [UInt8] = []
        let method = try Repository(openingAt: repo).readBlob(oid) { read.append(contentsOf: $0) }
        #expect(method == .streamed)
        #expect(read == content)
        #expect(try repository.blobSize(oid) == UInt64(size))
    }

    @Test("the git CLI agrees byte for byte, and fsck --strict inflates every block and checks the Adler-32")
    func catFileMatches() throws {
        let directory = TemporaryDirectory("git-loose")
        let repository = try Repository.create(at: directory.path + "/repo")
        let content = pseudoRandomBytes(count: 300_000, seed: 9)
        let oid = try repository.writeStoredBlob(bytes: content)
        let out = directory.path + "/out.bin"
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "git -C repo cat-file blob \(oid.hex) > out.bin"]
        shell.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(content))
        try git(["fsck", "--strict", "--full", "--no-dangling"], in: directory.path + "/repo")
    }

    @Test("writing an object that exists keeps the existing file and returns the same id")
    func existingKept() throws {
        let directory = TemporaryDirectory("git-loose")
        let repository = try Repository.create(at: directory.path + "/repo")
        let content = Array("hello\n".utf8)
        let cli = try git(["-C", "repo", "hash-object", "-w", "--stdin"], in: directory.path, input: content)
        let loose = try repository.objectsDirectory + "/" + cli.prefix(2) + "/" + cli.dropFirst(2)
        let before = try FileManager.default.attributesOfItem(atPath: loose)[.systemFileNumber] as? Int
        #expect(try repository.writeStoredBlob(bytes: content).hex == cli)
        #expect(try FileManager.default.attributesOfItem(atPath: loose)[.systemFileNumber] as? Int == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: try repository.objectsDirectory)
            .filter { $0.hasPrefix("tmp_obj") }
        #expect(leftovers.isEmpty)
    }

    @Test("Adler-32 matches zlib's known values")
    func adler() {
        var checksum = Adler32()
        Array("Wikipedia".utf8).withUnsafeBytes { checksum.update($0) }
        #expect(checksum.value == 0x11E6_0398)
        var empty = Adler32()
        empty.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(empty.value == 1)
        // Long runs of 0xFF exercise the deferred modulo.
        var long = Adler32()
        [UInt8](repeating: 0xFF, count: 100_000).withUnsafeBytes { long.update($0) }
        var split = Adler32()
        [UInt8](repeating: 0xFF, count: 40_000).withUnsafeBytes { split.update($0) }
        [UInt8](repeating: 0xFF, count: 60_000).withUnsafeBytes { split.update($0) }
        #expect(long.value == split.value)
    }
}
