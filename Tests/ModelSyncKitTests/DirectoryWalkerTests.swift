#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

/// Creates a file whose name is `prefix` followed by the byte 0xFF (not UTF-8), through the C API.
func createNonUTF8File(in directory: String, prefix: String = "x") {
    var raw = Array((directory + "/" + prefix).utf8CString.dropLast()) + [CChar(bitPattern: 0xFF), 0]
    let descriptor = open(&raw, O_WRONLY | O_CREAT, 0o644)
    #expect(descriptor >= 0)
    close(descriptor)
}

@Suite("DirectoryWalker: the one walk and name rules of import, pack and fsck")
struct DirectoryWalkerTests {
    @Test("entries are every non-directory below the root, NFC, sorted by UTF-8 bytes, each with its kind")
    func entries() throws {
        let directory = TemporaryDirectory()
        directory.write("m/b.bin", [1])
        directory.write("m/A/z.bin", [2])
        directory.write("m/e\u{301}.bin", [3])  // saved as NFD
        directory.write("m/run.sh", [4], mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/m/link", withDestinationPath: "b.bin")
        #expect(mkfifo(directory.path + "/m/pipe", 0o644) == 0)
        createNonUTF8File(in: directory.path + "/m")

        let found = try DirectoryWalker().entries(under: directory.path + "/m")
        #expect(found.map(\.relativePath) == ["A/z.bin", "b.bin", "link", "pipe", "run.sh", "x\u{FFFD}", "\u{e9}.bin"])
        #expect(found.map(\.kind) == [.regular, .regular, .symbolicLink, .special, .regular, .undecodableName, .regular])
        #expect(found.map(\.isExecutable) == [false, false, false, false, true, false, false])
        #expect(found[0].absolutePath == directory.path + "/m/A/z.bin")
        #expect(found[5].directory == directory.path + "/m")
    }

    @Test("model files refuse a symbolic link, a pipe and a name that is not UTF-8, each naming it")
    func nameRules() throws {
        let directory = TemporaryDirectory()
        directory.write("m/ok.bin", [1])
        let walker = DirectoryWalker()
        #expect(try walker.modelFiles(under: directory.path + "/m").map(\.relativePath) == ["ok.bin"])

        try FileManager.default.createSymbolicLink(atPath: directory.path + "/m/link", withDestinationPath: "ok.bin")
        let link = try #require(throws: UsageError.self) { try walker.modelFiles(under: directory.path + "/m") }
        #expect(link.message == "\(directory.path)/m/link is a symbolic link: model-sync stores regular files only")
        unlink(directory.path + "/m/link")

        #expect(mkfifo(directory.path + "/m/pipe", 0o644) == 0)
        let pipe = try #require(throws: UsageError.self) { try walker.modelFiles(under: directory.path + "/m") }
        #expect(pipe.message == "\(directory.path)/m/pipe is not a regular file (device, socket or pipe)")
        unlink(directory.path + "/m/pipe")

        directory.write("m/sub/fine.bin", [2])
        createNonUTF8File(in: directory.path + "/m/sub", prefix: "y")
        let name = try #require(throws: UsageError.self) { try walker.modelFiles(under: directory.path + "/m") }
        #expect(name.message == "a file name in \(directory.path)/m/sub is not valid UTF-8 (shown as \"y\u{FFFD}\")")
        #expect(name.hint == "rename it: manifests carry UTF-8 paths")
    }

    @Test("a skipped path is left out with everything under it")
    func skipping() throws {
        let directory = TemporaryDirectory()
        directory.write("m/a.bin", [1])
        directory.write("m/.store/objects/x", [2])
        #expect(mkfifo(directory.path + "/m/.store/lock-pipe", 0o644) == 0)
        let walker = DirectoryWalker(skipping: [directory.path + "/m/.store"])
        #expect(try walker.modelFiles(under: directory.path + "/m").map(\.relativePath) == ["a.bin"])
    }

    @Test("a root that is a symbolic link is walked through its target, with the target's paths")
    func rootLink() throws {
        let directory = TemporaryDirectory()
        directory.write("generations/1/a.bin", [1])
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/models", withDestinationPath: "generations/1")
        let found = try DirectoryWalker().modelFiles(under: directory.path + "/models")
        #expect(found.map(\.relativePath) == ["a.bin"])
        #expect(found.map(\.absolutePath) == [directory.path + "/generations/1/a.bin"])
    }

    @Test("a missing root has no entries")
    func missingRoot() throws {
        let directory = TemporaryDirectory()
        #expect(try DirectoryWalker().entries(under: directory.path + "/nope").isEmpty)
    }
}
