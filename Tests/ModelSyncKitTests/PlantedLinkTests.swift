#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

/// A symbolic link planted where the library writes must never make it write through the link.
@Suite("files the library writes are never opened through a planted symbolic link")
struct PlantedLinkTests {
    private func plant(_ directory: TemporaryDirectory, at relative: String) throws -> String {
        let victim = directory.write("victim.txt", "precious\n")
        let link = directory.path + "/" + relative
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        return link
    }

    @Test("the lock file: a link is refused (exit 2) and the target keeps its bytes")
    func lock() throws {
        let directory = TemporaryDirectory("planted")
        let link = try plant(directory, at: "store/lock")
        let error = try #require(throws: UsageError.self) { try StoreLock(path: link, timeout: 0) }
        #expect(error.message == "the store lock \(link) is a symbolic link: model-sync writes its pid there and does not follow links")
        #expect(directory.read("victim.txt") == Array("precious\n".utf8))
    }

    @Test("a lock path that is a directory or a FIFO is refused, not locked")
    func lockNotRegular() throws {
        let directory = TemporaryDirectory("planted")
        #expect(mkfifo(directory.path + "/fifo", 0o644) == 0)
        let error = try #require(throws: UsageError.self) { try StoreLock(path: directory.path + "/fifo", timeout: 0) }
        #expect(error.message.hasSuffix("is not a regular file"))
    }

    @Test("an open for writing through FileSystem.open fails with ELOOP on a link, even without O_EXCL")
    func fileSystemOpen() throws {
        let directory = TemporaryDirectory("planted")
        let link = try plant(directory, at: "target")
        let error = try #require(throws: IOError.self) { try FileSystem.open(link, O_WRONLY | O_TRUNC) }
        #expect(error.errno == ELOOP)
        let read = try FileSystem.open(link, O_RDONLY)  // reading may follow: nothing is changed
        close(read)
        #expect(directory.read("victim.txt") == Array("precious\n".utf8))
    }

    @Test("the metrics file and durable writes replace a link instead of writing through it")
    func replacedNotFollowed() throws {
        let directory = TemporaryDirectory("planted")
        let metrics = try plant(directory, at: "metrics/model_sync.prom")
        try DaemonMetrics().write(to: metrics, role: .client)
        let durable = directory.path + "/sidecar"
        try FileManager.default.createSymbolicLink(atPath: durable, withDestinationPath: directory.path + "/victim.txt")
        try DurableFile.write(Array("new\n".utf8), to: durable)
        #expect(directory.read("victim.txt") == Array("precious\n".utf8))
        var info = stat()
        #expect(lstat(metrics, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
        #expect(lstat(durable, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
    }
}

@Suite("fsck --repair does not change a file through a link planted in objects/")
struct PlantedObjectLinkTests {
    @Test("an object that is a link to another file: its mode is not fixed through the link, nor claimed")
    func objectLink() throws {
        let fixture = try StoreFixture()
        let victim = fixture.directory.write("victim.txt", "precious\n")
        chmod(victim, 0o644)
        // A link named like the object of the victim's content, planted where the store keeps it.
        let digest = SHA256.hash(Array("precious\n".utf8))
        let path = fixture.store.objects.path(of: digest)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let report = try Fsck(store: fixture.store, repair: true, modelsDir: fixture.modelsDir, progress: nil).run()
        var info = stat()
        #expect(stat(victim, &info) == 0 && info.st_mode & 0o7777 == 0o644)
        #expect(!report.repaired.contains { $0.digest == digest && $0.action == "mode-fixed" }, "\(report.repaired)")
    }
}
