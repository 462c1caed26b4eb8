import Foundation
import Testing
@testable import ModelSyncKit

@Suite("Packer writes deterministic delta archives that import back")
struct PackerTests {
    private func models(_ directory: TemporaryDirectory, changed: Bool = false) {
        directory.write("models/btc/model.onnx", pseudoRandomBytes(count: 200_000, seed: changed ? 99 : 1))
        directory.write("models/eth/model.onnx", pseudoRandomBytes(count: 150_000, seed: 2))
        directory.write("models/config.json", Array(String(repeating: "{\"layers\": 12}\n", count: 500).utf8))
        directory.write("models/run.sh", Array("#!/bin/sh\n".utf8), mode: 0o755)
    }

    @Test("packing the same folder twice gives byte-identical archives, whatever the files' times")
    func deterministic() throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        let first = try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1000)],
                                              ofItemAtPath: directory.path + "/models/eth/model.onnx")
        let second = try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/b.zip")
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.archive)) == Data(contentsOf: URL(fileURLWithPath: second.archive)))
        #expect(first.archiveSHA256 == second.archiveSHA256 && first.archiveSize == second.archiveSize)
        #expect(first.objects == 4)
        #expect(first.archiveSHA256 == SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: first.archive)))))
        // No temp files left beside the archive.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["a.zip", "b.zip", "models"])
    }

    @Test("a file rewritten while it is being packed fails the pack: no archive, no temp file, the path named",
          arguments: [false, true])
    func rewrittenMidPack(sameSize: Bool) throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        // Larger than any read libzip makes, so the rewrite lands before the last chunk is read.
        let victim = directory.write("models/btc/model.onnx", pseudoRandomBytes(count: 4 << 20, seed: 7))
        var packer = Packer()
        packer.afterFirstRead = { path in
            guard path == victim else { return }
            // The training job saves again: same size (only the hash can tell) or a longer file.
            // Rewritten in place, so the descriptor being read sees the new bytes.
            let bytes = pseudoRandomBytes(count: sameSize ? 4 << 20 : 5 << 20, seed: 42)
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.write(Data(bytes))
                try? handle.close()
            }
        }
        let error = try #require(throws: UsageError.self) {
            try packer.pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        }
        #expect(error.message.hasPrefix("\(victim) changed while it was being packed: "), "\(error.message)")
        #expect(error.message.hasSuffix("; no archive was written"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["models"])
    }

    @Test("entries are sorted, incompressible blobs stored, text deflated, modes fixed")
    func layout() throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        let result = try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        let archive = try ZipArchive(path: result.archive)
        let names = archive.entries.map(\.name)
        #expect(names.first == "manifest.json")
        #expect(Array(names.dropFirst()) == names.dropFirst().sorted())
        let manifest = try Manifest.decode(try archive.contents(of: archive.entries[0]), expecting: result.manifest)
        for file in manifest.files {
            let entry = try #require(archive.entries.first { $0.name == ArchiveLayout.objectName(file.digest) })
            #expect(entry.compressionMethod == (file.path.hasSuffix(".onnx") ? .store : .deflate), "\(file.path)")
            #expect(entry.unixMode == 0o100644)
        }
        #expect(manifest.files.first { $0.path == "run.sh" }?.mode == .executable)
    }

    @Test("pack → import round trip; a second pack with a have list carries only the changed blob")
    func roundTripWithHave() throws {
        let worker = TemporaryDirectory("pack-worker")
        let client = TemporaryDirectory("pack-client")
        models(worker)
        let store = try Store.open(at: client.path + "/store", lockTimeout: 1)
        let first = try Packer().pack(modelsDir: worker.path + "/models", to: worker.path + "/1.zip")
        let imported = try ArchiveImporter(store: store).importArchive(at: first.archive)
        #expect(imported.format == .delta && imported.manifest == first.manifest && imported.newObjects == 4)

        let have = Set(try store.manifest(imported.manifest).files.map(\.digest))
        models(worker, changed: true)
        let second = try Packer().pack(modelsDir: worker.path + "/models", to: worker.path + "/2.zip", have: have)
        #expect(second.objects == 1)
        #expect(second.objectBytes == 200_000)
        // Stored, not deflated: the archive is the blob plus the manifest and a little zip framing.
        #expect(second.archiveSize < 200_000 + 2_000)
        let again = try ArchiveImporter(store: store).importArchive(at: second.archive)
        #expect(again.manifest == second.manifest && again.newObjects == 1 && again.newBytes == 200_000)
        let files = try store.manifest(again.manifest).files
        #expect(files.first { $0.path == "btc/model.onnx" }?.digest == SHA256.hash(pseudoRandomBytes(count: 200_000, seed: 99)))
    }

    @Test("a have list is read as a JSON array or one digest per line, bare hex accepted")
    func haveList() throws {
        let directory = TemporaryDirectory("pack-have")
        let a = SHA256.hash(Array("a".utf8)), b = SHA256.hash(Array("b".utf8))
        let json = directory.write("have.json", "[\"\(a)\", \"\(b.hex)\"]")
        let lines = directory.write("have.txt", "# from the client\n\(a)\n\n\(b)\n")
        #expect(try Packer.readHaveList(at: json) == [a, b])
        #expect(try Packer.readHaveList(at: lines) == [a, b])
        let bad = directory.write("bad.txt", "sha256:xyz\n")
        let error = try #require(throws: UsageError.self) { try Packer.readHaveList(at: bad) }
        #expect(error.message == "\(bad): item 1 is not a digest: \"sha256:xyz\"")
    }

    @Test("a symbolic link in the models folder is refused")
    func symlinkRefused() throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/models/link", withDestinationPath: "/etc/passwd")
        #expect(throws: UsageError.self) {
            try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/a.zip"))
    }

    @Test("a file name that is not UTF-8 is refused as import refuses it, and no archive is written")
    func nonUTF8NameRefused() throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        createNonUTF8File(in: directory.path + "/models/eth")
        let packed = try #require(throws: UsageError.self) {
            try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        }
        #expect(packed.message == "a file name in \(directory.path)/models/eth is not valid UTF-8 (shown as \"x\u{FFFD}\")")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/a.zip"))

        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let imported = try #require(throws: UsageError.self) { try store.importDirectory(directory.path + "/models") }
        #expect(imported.message == packed.message)
    }

    @Test("a symbolic link or a pipe is refused with the same message import gives")
    func sameMessagesAsImport() throws {
        let directory = TemporaryDirectory("pack")
        models(directory)
        #expect(mkfifo(directory.path + "/models/pipe", 0o644) == 0)
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let packed = try #require(throws: UsageError.self) {
            try Packer().pack(modelsDir: directory.path + "/models", to: directory.path + "/a.zip")
        }
        let imported = try #require(throws: UsageError.self) { try store.importDirectory(directory.path + "/models") }
        #expect(packed.message == "\(directory.path)/models/pipe is not a regular file (device, socket or pipe)")
        #expect(imported.message == packed.message)
        #expect(packed.hint == imported.hint)
    }

    @Test("a have list that is a JSON array of anything but strings is refused")
    func haveListNotStrings() throws {
        let directory = TemporaryDirectory("pack")
        let path = directory.write("have.json", "[\"sha256:\(String(repeating: "a", count: 64))\", 5]")
        let error = try #require(throws: UsageError.self) { try Packer.readHaveList(at: path) }
        #expect(error.message == "\(path) is not a JSON array of digests")
        let object = directory.write("object.json", "[{}]")
        #expect(throws: UsageError.self) { try Packer.readHaveList(at: object) }
    }
}
