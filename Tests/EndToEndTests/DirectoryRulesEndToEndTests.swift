#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite("import and pack apply the same name rules to a models folder")
struct DirectoryRulesEndToEndTests {
    /// A file in `models/sub` whose name holds the byte 0xFF (not UTF-8).
    private func addNonUTF8File(_ sandbox: Sandbox) {
        sandbox.write("models/sub/ok.bin", [1])
        var raw = Array((sandbox.path + "/models/sub/x").utf8CString.dropLast()) + [CChar(bitPattern: 0xFF), 0]
        let descriptor = open(&raw, O_WRONLY | O_CREAT, 0o644)
        #expect(descriptor >= 0)
        close(descriptor)
    }

    @Test("a file name that is not UTF-8 makes both import and pack exit 2 naming the folder; pack writes nothing")
    func nonUTF8Name() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 1000, seed: 1))
        addNonUTF8File(sandbox)
        let expected = "a file name in \(sandbox.path)/models/sub is not valid UTF-8"

        let imported = try sandbox.cli.run(["import", "models"])
        #expect(imported.status == 2, "\(imported.stderr)")
        #expect(imported.stderr.contains(expected), "\(imported.stderr)")

        let packed = try sandbox.cli.run(["pack", "--archive-path", "delta.zip"])
        #expect(packed.status == 2, "\(packed.stderr)")
        #expect(packed.stderr.contains(expected), "\(packed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/delta.zip"))
    }

    @Test("a symbolic link makes both import and pack exit 2 with the same message")
    func symbolicLink() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 1000, seed: 1))
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/models/link", withDestinationPath: "a.bin")
        let expected = "\(sandbox.path)/models/link is a symbolic link: model-sync stores regular files only"
        let imported = try sandbox.cli.run(["import", "models"])
        let packed = try sandbox.cli.run(["pack", "--archive-path", "delta.zip"])
        #expect(imported.status == 2 && packed.status == 2, "\(imported.stderr)\n\(packed.stderr)")
        #expect(imported.stderr.contains(expected), "\(imported.stderr)")
        #expect(packed.stderr.contains(expected), "\(packed.stderr)")
    }
}
