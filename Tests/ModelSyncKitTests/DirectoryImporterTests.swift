import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

@Suite("importing a directory")
struct DirectoryImporterTests {
    @Test("re-importing an unchanged directory reads no file (stat cache) and gives the same manifest")
    func statCacheSkipsUnchangedFiles() throws {
        let directory = TemporaryDirectory()
        for index in 0..<20 {
            directory.write("models/m\(index)/w.bin", pseudoRandomBytes(count: 50_000 + index, seed: UInt64(index)))
            directory.age("models/m\(index)/w.bin")
        }
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        // Hashed "a minute later" than the files were written, so they are not racy.
        let later = Date().addingTimeInterval(60)
        let first = try store.importDirectory(directory.path + "/models", now: later)
        #expect(first.files == 20 && first.newObjects == 20 && first.cachedFiles == 0)
        let second = try store.importDirectory(directory.path + "/models", now: later)
        #expect(second.manifest == first.manifest)
        #expect(second.cachedFiles == 20)
        #expect(second.newObjects == 0)

        // A changed file is noticed (size and mtime differ) and hashed again.
        directory.write("models/m3/w.bin", pseudoRandomBytes(count: 50_003, seed: 999))
        directory.age("models/m3/w.bin", seconds: 30)
        let third = try store.importDirectory(directory.path + "/models", now: later.addingTimeInterval(60))
        #expect(third.manifest != first.manifest)
        #expect(third.cachedFiles == 19)
        #expect(third.newObjects == 1)
    }

    @Test("a file rewritten with the same size and an old mtime is hashed again (its ctime is recent)")
    func rewrittenWithOldMtime() throws {
        let directory = TemporaryDirectory()
        directory.write("models/a.bin", pseudoRandomBytes(count: 4096, seed: 1))
        directory.age("models/a.bin")
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let first = try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60))
        // Same size, same (old) mtime: only the ctime tells the content changed.
        let path = directory.path + "/models/a.bin"
        let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: Data(pseudoRandomBytes(count: 4096, seed: 2)))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: path)
        let second = try store.importDirectory(directory.path + "/models")
        #expect(second.manifest != first.manifest)
        #expect(second.cachedFiles == 0)
        // And it is not cached while its ctime is recent, so a third import hashes it again too.
        #expect(try store.importDirectory(directory.path + "/models").cachedFiles == 0)
        #expect(try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60)).cachedFiles == 0)
        #expect(try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60)).cachedFiles == 1)
    }

    @Test("progress is reported while a large file is copied, and reaches the total")
    func progressWithinAFile() throws {
        let directory = TemporaryDirectory()
        directory.write("models/big.bin", pseudoRandomBytes(count: 20_000_000, seed: 5))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let reports = Mutex<[ModelSyncKit.Progress]>([])
        _ = try store.importDirectory(directory.path + "/models") { progress in reports.withLock { $0.append(progress) } }
        let seen = reports.withLock { $0 }
        #expect(seen.count >= 3)
        #expect(seen.allSatisfy { $0.phase == "hashing" && $0.total == 20_000_000 })
        #expect(seen.last?.completed == 20_000_000)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.completed <= $1.completed })
    }

    @Test("a file written in the last two seconds is not cached (it could change within the same timestamp)")
    func racyFilesAreNotCached() throws {
        let directory = TemporaryDirectory()
        directory.write("models/fresh.bin", [1, 2, 3])
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        _ = try store.importDirectory(directory.path + "/models")
        #expect(try store.importDirectory(directory.path + "/models").cachedFiles == 0)
    }

    @Test("paths are relative, sorted bytewise, executable bits kept; symlinks are refused naming the path")
    func manifestShape() throws {
        let directory = TemporaryDirectory()
        directory.write("models/b.bin", [1])
        directory.write("models/A/z.bin", [2])
        directory.write("models/run.sh", Array("#!/bin/sh\n".utf8), mode: 0o755)
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let result = try store.importDirectory(directory.path + "/models")
        let manifest = try store.manifest(result.manifest)
        #expect(manifest.files.map(\.path) == ["A/z.bin", "b.bin", "run.sh"])
        #expect(manifest.files.map(\.mode) == [.regular, .regular, .executable])

        try FileManager.default.createSymbolicLink(atPath: directory.path + "/models/link", withDestinationPath: "b.bin")
        #expect { try store.importDirectory(directory.path + "/models") } throws: { error in
            (error as? UsageError)?.message == "\(directory.path)/models/link is a symbolic link: model-sync stores regular files only"
        }
    }

    @Test("a file name that is not UTF-8 is refused naming its folder, not silently left out")
    func nonUTF8Name() throws {
        let directory = TemporaryDirectory()
        directory.write("models/ok.bin", [1])
        let bad = directory.path + "/models/" + "x"
        // A name holding the byte 0xFF (not UTF-8), made through the C API.
        var raw = Array(bad.utf8CString.dropLast()) + [CChar(bitPattern: 0xFF), 0]
        let descriptor = open(&raw, O_WRONLY | O_CREAT, 0o644)
        #expect(descriptor >= 0)
        close(descriptor)
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        #expect { try store.importDirectory(directory.path + "/models") } throws: { error in
            (error as? UsageError)?.message.hasPrefix("a file name in \(directory.path)/models is not valid UTF-8") == true
        }
    }

    @Test("a missing folder is a usage error naming it")
    func missingFolder() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        #expect { try store.importDirectory(directory.path + "/nope") } throws: { error in
            (error as? UsageError)?.message == "models folder \(directory.path)/nope does not exist"
        }
    }

    @Test("the index can be rebuilt from objects/ and the generation sidecars alone")
    func rebuildIndex() throws {
        let directory = TemporaryDirectory()
        directory.write("models/a.bin", pseudoRandomBytes(count: 1000, seed: 1))
        directory.write("next/a.bin", pseudoRandomBytes(count: 1000, seed: 2))
        let storePath = directory.path + "/.model-sync"
        var manifests: [Digest] = []
        do {
            let store = try Store.open(at: storePath, lockTimeout: 1)
            manifests.append(try store.importDirectory(directory.path + "/models").manifest)
            manifests.append(try store.importDirectory(directory.path + "/next").manifest)
            let generations = Generations(store: store, modelsDir: directory.path + "/models")
            _ = try generations.activate(manifests[0], options: ActivationOptions())
            _ = try generations.activate(manifests[1], options: ActivationOptions())
        }
        for suffix in ["", "-wal", "-shm"] { unlink(storePath + "/index.sqlite" + suffix) }
        let report = try Store.repair(at: storePath, lockTimeout: 1, modelsDir: directory.path + "/models")
        #expect(report.ok)
        #expect(report.repaired.contains { $0.action == "index-rebuilt" })
        let store = try Store.openForReading(at: storePath)
        let status = try store.status(modelsDir: directory.path + "/models")
        #expect(status.active?.manifest == manifests[1])
        #expect(Set(status.generations.map(\.manifest)) == Set(manifests))
        #expect(status.manifests == 2)
    }

    @Test("a corrupt index is moved aside and rebuilt by repair")
    func corruptIndex() throws {
        let directory = TemporaryDirectory()
        directory.write("models/a.bin", [1, 2, 3])
        let storePath = directory.path + "/s"
        do {
            let store = try Store.open(at: storePath, lockTimeout: 1)
            _ = try store.importDirectory(directory.path + "/models")
        }
        for suffix in ["-wal", "-shm"] { unlink(storePath + "/index.sqlite" + suffix) }
        directory.write("s/index.sqlite", Array(repeating: 0x42, count: 4096))
        #expect(throws: SQLiteError.self) { try Store.openForReading(at: storePath).status(modelsDir: directory.path + "/models") }
        let report = try Store.repair(at: storePath, lockTimeout: 1, modelsDir: nil)
        #expect(report.ok)
        let aside = try FileManager.default.contentsOfDirectory(atPath: storePath).filter { $0.hasPrefix("index.sqlite.corrupt-") }
        #expect(aside.count == 1)
        #expect(try Store.openForReading(at: storePath).status(modelsDir: directory.path + "/models").manifests == 1)
    }
}
