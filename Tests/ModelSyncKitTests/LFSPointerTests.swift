import Foundation
import Testing
@testable import ModelSyncKit

@Suite("LFS pointer files")
struct LFSPointerTests {
    let object = LFSObject(oid: SHA256.hash(Data("hello".utf8)), size: 5)

    @Test("the text is what git-lfs writes, and parses back")
    func canonicalText() throws {
        let text = LFSPointer.text(for: object)
        #expect(String(decoding: text, as: UTF8.self) == """
            version https://git-lfs.github.com/spec/v1
            oid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
            size 5

            """)
        #expect(LFSPointer.parse(text) == object)
    }

    @Test("what git-lfs writes for a file is parsed", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/git-lfs")))
    func gitLFSPointer() throws {
        let directory = TemporaryDirectory()
        let bytes = pseudoRandomBytes(count: 4_000, seed: 9)
        let file = directory.write("model.bin", bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git-lfs")
        process.arguments = ["pointer", "--file=\(file)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pointer = Array(output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        #expect(LFSPointer.parse(pointer) == LFSObject(oid: SHA256.hash(Data(bytes)), size: 4_000))
    }

    @Test("anything else is not a pointer", arguments: [
        "",
        "version https://git-lfs.github.com/spec/v1\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 5",
        "version https://git-lfs.github.com/spec/v2\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 5\n",
        "version https://git-lfs.github.com/spec/v1\nsize 5\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:2CF24DBA5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 5\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize -5\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 05\n",
        "version https://git-lfs.github.com/spec/v1\noid md5:5d41402abc4b2a76b9719d911017c592\nsize 5\n",
        "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
            + "oid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 5\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nsize 5\nsize 6\n",
        "hello world\n",
    ])
    func notPointers(_ text: String) {
        #expect(LFSPointer.parse(Array(text.utf8)) == nil)
    }

    @Test("a file larger than the pointer limit is content, whatever it starts with")
    func tooLarge() {
        var text = LFSPointer.text(for: object)
        text += Array(repeating: UInt8(ascii: "x"), count: LFSPointer.maxSize)
        #expect(LFSPointer.parse(text) == nil)
    }
}
