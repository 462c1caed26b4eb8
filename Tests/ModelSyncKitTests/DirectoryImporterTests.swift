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

    @Test("an import drops the stat-cache rows of the files its walk no longer sees; unchanged files stay cached")
    func statCacheForgetsDeletedFiles() throws {
        let directory = TemporaryDirectory()
        for index in 0..<12 {
            directory.write("models/m\(index % 4)/w\(index).bin", pseudoRandomBytes(count: 10_000 + index, seed: UInt64(index)))
        }
        // Folders whose paths share the prefix `models` (before and after `/` in byte order), imported too.
        directory.write("models-x/a.bin", pseudoRandomBytes(count: 100, seed: 50))
        directory.write("models2/b.bin", pseudoRandomBytes(count: 100, seed: 51))
        directory.write("models/kept-by-ignore.bin", pseudoRandomBytes(count: 100, seed: 52))
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let rows = { try store.index.database.query("SELECT COUNT(*) FROM stat_cache") { $0.int(0) }.first ?? -1 }
        let later = Date().addingTimeInterval(60)
        for folder in ["models", "models-x", "models2"] { _ = try store.importDirectory(directory.path + "/" + folder, now: later) }
        #expect(try rows() == 15)

        // Five files deleted (m0 left empty), one replaced by a folder; one more left out of the set.
        for index in [0, 4, 8, 5] { try FileManager.default.removeItem(atPath: directory.path + "/models/m\(index % 4)/w\(index).bin") }
        try FileManager.default.removeItem(atPath: directory.path + "/models/m1/w9.bin")
        try FileManager.default.removeItem(atPath: directory.path + "/models/m2/w2.bin")
        directory.write("models/m2/w2.bin/inner.bin", pseudoRandomBytes(count: 10_002, seed: 2))
        directory.write("models/.modelsyncignore", "kept-by-ignore.bin\n")
        let again = try store.importDirectory(directory.path + "/models", filtered: true, progress: nil, now: later,
                                              hashStart: Int64(later.timeIntervalSince1970 * 1e9))
        #expect(again.files == 7)
        // Nothing unchanged was read again: only the file under its new path.
        #expect(again.cachedFiles == 6)
        #expect(again.newObjects == 0)
        // 15 rows, less the six gone, plus the one new path; the ignored file's row stays (it is still there,
        // and another import may list it), as do the other folders'.
        #expect(try rows() == 10)
        let paths = try store.index.database.query("SELECT path FROM stat_cache") { $0.text(0) }
        #expect(paths.contains(directory.path + "/models/kept-by-ignore.bin"))
        #expect(paths.contains(directory.path + "/models-x/a.bin") && paths.contains(directory.path + "/models2/b.bin"))
        #expect(!paths.contains(directory.path + "/models/m0/w0.bin"))
        let third = try store.importDirectory(directory.path + "/models", filtered: true, progress: nil, now: later,
                                              hashStart: Int64(later.timeIntervalSince1970 * 1e9))
        #expect(third.cachedFiles == 7 && third.manifest == again.manifest)

        // The whole folder emptied: every row under it goes, the other folders' stay.
        try FileManager.default.removeItem(atPath: directory.path + "/models")
        try FileManager.default.createDirectory(atPath: directory.path + "/models", withIntermediateDirectories: false)
        _ = try store.importDirectory(directory.path + "/models", now: later)
        #expect(try rows() == 2)
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
        let second = try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60))
        #expect(second.manifest != first.manifest)
        #expect(second.cachedFiles == 0)
        // Hashed after its last change, it is cached under its new key.
        let third = try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60))
        #expect(third.manifest == second.manifest)
        #expect(third.cachedFiles == 1)
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

    @Test("a file changed in the timestamp tick its hash began in is hashed again; one untouched since is not")
    func racyFilesAreNotCached() throws {
        let directory = TemporaryDirectory()
        directory.write("models/settled.bin", [4, 5, 6])
        let settled = try statKey(directory.path + "/models/settled.bin")
        let tick = StatKey.timestampTick(mtimeNanoseconds: settled.mtimeNanoseconds, ctimeNanoseconds: settled.ctimeNanoseconds)
        Thread.sleep(forTimeInterval: Double(3 * tick) / 1e9 + 0.01)
        directory.write("models/fresh.bin", [1, 2, 3])
        let fresh = try statKey(directory.path + "/models/fresh.bin")
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        // The hash "begins" at the very nanosecond fresh.bin last changed: the same tick, so a write later in
        // that tick would keep its key. settled.bin last changed ticks before.
        let hashStart = max(fresh.mtimeNanoseconds, fresh.ctimeNanoseconds)
        try #require(max(settled.mtimeNanoseconds, settled.ctimeNanoseconds) < hashStart - 2 * tick)
        let first = try store.importDirectory(directory.path + "/models", now: Date(), hashStart: hashStart)
        #expect(first.cachedFiles == 0)
        let second = try store.importDirectory(directory.path + "/models", now: Date(), hashStart: hashStart + 10 * tick)
        // fresh.bin was racy, so it is read again; settled.bin is cached.
        #expect(second.cachedFiles == 1)
        // Hashed well after its last change, fresh.bin is cached from then on.
        #expect(try store.importDirectory(directory.path + "/models", now: Date(), hashStart: hashStart + 10 * tick)
                    .cachedFiles == 2)
    }

    @Test("a no-op import right after an import of a folder just written reads no file")
    func noOpImportRightAfterAnImport() throws {
        let directory = TemporaryDirectory()
        for index in 0..<10 { directory.write("models/f\(index).bin", pseudoRandomBytes(count: 100, seed: UInt64(index))) }
        // Two timestamp ticks between the last write and the import, as between a copy and its import.
        let last = try statKey(directory.path + "/models/f9.bin")
        let tick = StatKey.timestampTick(mtimeNanoseconds: last.mtimeNanoseconds, ctimeNanoseconds: last.ctimeNanoseconds)
        Thread.sleep(forTimeInterval: Double(2 * tick) / 1e9 + 0.01)
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        _ = try store.importDirectory(directory.path + "/models")
        let again = try store.importDirectory(directory.path + "/models")
        #expect(again.cachedFiles == 10)
        #expect(again.newObjects == 0)
    }

    @Test("the stat cache answers for names stored in NFD too, whose paths on disk sort apart from the manifest's")
    func statCacheWithNonNFCNames() throws {
        let directory = TemporaryDirectory()
        // On disk an NFD name ("e" + U+0301) sorts among the "e" names, in the manifest its NFC form (U+00E9)
        // sorts after "z": the stat cache, read in on-disk path order, must still meet every file.
        let names = ["a.bin", "e\u{301}.bin", "e\u{301}z/w.bin", "ez.bin", "f.bin", "\u{e9}a.bin", "z.bin"]
        for (index, name) in names.enumerated() {
            directory.write("models/" + name, pseudoRandomBytes(count: 10 + index, seed: UInt64(index)))
        }
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let first = try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60))
        #expect(first.files == names.count && first.cachedFiles == 0)
        let second = try store.importDirectory(directory.path + "/models", now: Date().addingTimeInterval(60))
        #expect(second.manifest == first.manifest)
        #expect(second.cachedFiles == names.count)
    }

    @Test("the racy-file rule works at the filesystem's granularity: whole-second times make a two-second tick")
    func racyRuleAtSecondGranularity() {
        let second: Int64 = 1_000_000_000
        let wholeSeconds = StatKey(path: "/m/a", device: 1, inode: 1, size: 1,
                                   mtimeNanoseconds: 1_000 * second, ctimeNanoseconds: 1_000 * second)
        // Hashed half a second after the stamp: on a filesystem of whole seconds that is the same tick.
        #expect(wholeSeconds.isRacy(hashStart: 1_000 * second + second / 2))
        #expect(wholeSeconds.isRacy(hashStart: 1_001 * second + second / 2))
        #expect(!wholeSeconds.isRacy(hashStart: 1_002 * second + second / 2))
        let fine = StatKey(path: "/m/a", device: 1, inode: 1, size: 1,
                           mtimeNanoseconds: 1_000 * second + 123, ctimeNanoseconds: 1_000 * second + 456)
        #expect(fine.isRacy(hashStart: 1_000 * second + 456))
        #expect(fine.isRacy(hashStart: 1_000 * second + 400))
        #expect(!fine.isRacy(hashStart: 1_000 * second + 456 + 2 * StatKey.coarseClockResolution))
        // ctime counts as much as mtime: mtime can be set back, ctime cannot.
        let setBack = StatKey(path: "/m/a", device: 1, inode: 1, size: 1,
                              mtimeNanoseconds: 10 * second + 1, ctimeNanoseconds: 1_000 * second + 1)
        #expect(setBack.isRacy(hashStart: 1_000 * second + 2))
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

/// The stat key of the file at `path`, as the importer takes it.
private func statKey(_ path: String) throws -> StatKey {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
    return StatKey(path: path, stat: info)
}
