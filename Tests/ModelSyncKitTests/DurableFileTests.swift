#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

@Suite("DurableFile: temp file → write → fsync → rename or link → fsync the directory")
struct DurableFileTests {
    private func mode(_ path: String) -> mode_t {
        var info = stat()
        #expect(lstat(path, &info) == 0)
        return info.st_mode & 0o7777
    }

    @Test("a committed file has its bytes and exactly the mode asked for, and no temp file is left")
    func commitReplaces() throws {
        let directory = TemporaryDirectory()
        directory.write("target", "old")
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try file.write(Array("new bytes".utf8))
        let created = try file.commit(to: directory.path + "/target", mode: 0o604, placement: .replace)
        #expect(created)
        #expect(directory.read("target") == Array("new bytes".utf8))
        #expect(mode(directory.path + "/target") == 0o604)
        #expect(try FileSystem.list(directory.path) == ["target"])
    }

    @Test("pieces written at their offsets, out of order, make the whole file")
    func positionalWrites() throws {
        let directory = TemporaryDirectory()
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try Array("world".utf8).withUnsafeBytes { try file.write($0, at: 6) }
        try Array("hello ".utf8).withUnsafeBytes { try file.write($0, at: 0) }
        try file.commit(to: directory.path + "/target", mode: 0o644, placement: .replace)
        #expect(directory.read("target") == Array("hello world".utf8))
    }

    @Test("the umask narrows the mode as open(2) would, unless the mode is exact (store objects)")
    func umaskNarrowsMode() throws {
        let directory = TemporaryDirectory()
        let narrowed = try DurableFile(in: directory.path, prefix: ".t-")
        try narrowed.commit(to: directory.path + "/shared", mode: 0o666, placement: .replace)
        #expect(mode(directory.path + "/shared") == 0o666 & ~processUmask)
        let exact = try DurableFile(in: directory.path, prefix: ".t-")
        try exact.commit(to: directory.path + "/object", mode: 0o666, placement: .replace, exactMode: true)
        #expect(mode(directory.path + "/object") == 0o666)
        // The test process runs with a umask that removes at least the write bits for others.
        #expect(processUmask & 0o002 != 0)
    }

    @Test("link placement keeps an existing target untouched: its bytes, its mode, its inode")
    func keepExisting() throws {
        let directory = TemporaryDirectory()
        let target = directory.write("object", Array("first".utf8), mode: 0o600)
        var before = stat()
        #expect(lstat(target, &before) == 0)
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try file.write(Array("second".utf8))
        let created = try file.commit(to: target, mode: 0o444, placement: .keepExisting)
        #expect(!created)
        #expect(directory.read("object") == Array("first".utf8))
        #expect(mode(target) == 0o600)
        var after = stat()
        #expect(lstat(target, &after) == 0)
        #expect(after.st_ino == before.st_ino)
        #expect(try FileSystem.list(directory.path) == ["object"])
    }

    @Test("link placement creates a missing target read-only and leaves one name")
    func linkCreates() throws {
        let directory = TemporaryDirectory()
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try file.write(Array("content".utf8))
        #expect(try file.commit(to: directory.path + "/object", mode: 0o444, placement: .keepExisting))
        #expect(mode(directory.path + "/object") == 0o444)
        var info = stat()
        #expect(lstat(directory.path + "/object", &info) == 0)
        #expect(info.st_nlink == 1)
        #expect(try FileSystem.list(directory.path) == ["object"])
    }

    @Test("a commit that fails (target directory missing) throws and removes the temp file")
    func failedCommitCleansUp() throws {
        let directory = TemporaryDirectory()
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try file.write(Array("x".utf8))
        let error = try #require(throws: IOError.self) {
            try file.commit(to: directory.path + "/missing/target", mode: 0o644, placement: .replace)
        }
        #expect(error.operation == "rename")
        #expect(error.errno == ENOENT)
        #expect(try FileSystem.list(directory.path).isEmpty)
    }

    @Test("a file dropped without commit, or abandoned, leaves nothing behind")
    func abandonedCleansUp() throws {
        let directory = TemporaryDirectory()
        do {
            let file = try DurableFile(in: directory.path, prefix: ".t-")
            try file.write(Array("x".utf8))
            #expect(FileSystem.exists(file.temporaryPath))
        }
        #expect(try FileSystem.list(directory.path).isEmpty)
        let file = try DurableFile(in: directory.path, prefix: ".t-")
        file.abandon()
        #expect(try FileSystem.list(directory.path).isEmpty)
        #expect(throws: IOError.self) { try file.commit(to: directory.path + "/t", mode: 0o644, placement: .replace) }
        #expect(!FileSystem.exists(directory.path + "/t"))
    }

    @Test("a file another library wrote is committed durably, and removed when its commit fails")
    func writtenFile() throws {
        let directory = TemporaryDirectory()
        let temporary = directory.write(".archive.tmp", "zip bytes")
        try DurableFile.commit(writtenFile: temporary, to: directory.path + "/archive.zip", placement: .replace)
        #expect(directory.read("archive.zip") == Array("zip bytes".utf8))
        #expect(!FileSystem.exists(temporary))

        let other = directory.write(".other.tmp", "more")
        #expect(throws: IOError.self) {
            try DurableFile.commit(writtenFile: other, to: directory.path + "/no/such/dir", placement: .replace)
        }
        #expect(!FileSystem.exists(other))
    }

    @Test("the directory that gains the name is fsynced, and its parent too when it was just created")
    func directorySync() throws {
        let directory = TemporaryDirectory()
        let fanout = directory.path + "/ab"
        #expect(try DurableFile.makeDirectory(fanout))
        #expect(try !DurableFile.makeDirectory(fanout))
        #expect(try DurableFile.syncParents(of: fanout + "/cdef", createdParent: true) == [fanout, directory.path])
        #expect(try DurableFile.syncParents(of: fanout + "/cdef", createdParent: false) == [fanout])
        // The sync opens the directory: a directory that does not exist is an error, not a silent skip.
        let error = try #require(throws: IOError.self) {
            try DurableFile.syncParents(of: directory.path + "/gone/file", createdParent: false)
        }
        #expect(error.path == directory.path + "/gone")

        let file = try DurableFile(in: directory.path, prefix: ".t-")
        try file.write(Array("y".utf8))
        #expect(try file.commit(to: fanout + "/cdef", mode: 0o444, placement: .keepExisting, createdParent: true))
        #expect(FileSystem.exists(fanout + "/cdef"))
    }

    @Test("linking an existing file gives it a second name, and keeps a name already there")
    func linkExisting() throws {
        let directory = TemporaryDirectory()
        let source = directory.write("source", "s")
        let taken = directory.write("taken", "t")
        #expect(try DurableFile.link(existing: source, at: directory.path + "/copy"))
        #expect(directory.read("copy") == Array("s".utf8))
        #expect(try !DurableFile.link(existing: source, at: taken))
        #expect(directory.read("taken") == Array("t".utf8))
    }

    @Test("writeAtomically replaces a file whole and leaves no temp file")
    func writeAtomically() throws {
        let directory = TemporaryDirectory()
        directory.write("state.json", "old")
        try FileSystem.writeAtomically(Array("new".utf8), to: directory.path + "/state.json", mode: 0o600)
        #expect(directory.read("state.json") == Array("new".utf8))
        #expect(mode(directory.path + "/state.json") == 0o600)
        #expect(try FileSystem.list(directory.path) == ["state.json"])
    }
}
