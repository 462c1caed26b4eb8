#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

@Suite("out-of-space errors exit 9 from every wrapper; the store and the models folder never nest")
struct OutOfSpaceAndPlacementTests {
    @Test("ENOSPC and EDQUOT from a system call, SQLite, libzip, libgit2 and a download are all exit 9, naming the path",
          arguments: [ENOSPC, EDQUOT])
    func everyWrapperMapsOutOfSpace(_ code: Int32) {
        let io = IOError(errno: code, operation: "write", path: "/data/store/tmp/obj-1")
        #expect(io.category.exitCode == 9)
        #expect(io.message.hasPrefix("no space left on /data/store/tmp/obj-1"))
        #expect(io.hint?.contains("free some space") == true)

        let zip = ZipError(code: .write, systemCode: code, detail: "Write error", archivePath: "/out/a.zip")
        #expect(zip.category == .outOfSpace)
        #expect(zip.message.hasPrefix("no space left on /out/a.zip"))

        let git = GitError(code: .generic, errorClass: 2, detail: "failed to write: \(String(cString: strerror(code)))",
                           operation: "write object", repositoryPath: "/repo")
        #expect(git.category == .outOfSpace)

        let http = HTTPError(.file, method: "GET", url: "https://example.invalid/a.zip",
                             detail: "cannot write /out/a.zip: \(String(cString: strerror(code)))")
        #expect(http.category == .outOfSpace)
    }

    @Test("SQLITE_FULL is out of space; other SQLite failures keep their category")
    func sqliteFull() {
        let full = SQLiteError(resultCode: .SQLITE_FULL, sqliteMessage: "database or disk is full", context: "INSERT", path: "/s/index.sqlite")
        #expect(full.category.exitCode == 9)
        #expect(full.message.hasPrefix("no space left on /s/index.sqlite"))
        let shm = SQLiteError(resultCode: ResultCode(rawValue: 10 | (19 << 8)), sqliteMessage: "disk I/O error", context: "INSERT",
                              path: "/s/index.sqlite", systemErrno: ENOSPC)
        #expect(shm.category == .outOfSpace)
        let busy = SQLiteError(resultCode: .SQLITE_BUSY, sqliteMessage: "busy", context: "INSERT", path: "/s/index.sqlite")
        #expect(busy.category == .unexpected)
        #expect(IOError(errno: EACCES, operation: "open", path: "/x").category == .usage)
        #expect(IOError(errno: EROFS, operation: "open", path: "/x").category == .usage)
        #expect(IOError(errno: EIO, operation: "read", path: "/x").category == .integrity)
        #expect(IOError(errno: EINVAL, operation: "ioctl", path: "/x").category == .unexpected)
    }

    @Test("nesting is refused both ways and through symbolic links; side by side is accepted")
    func placement() throws {
        let directory = TemporaryDirectory()
        let root = directory.path
        directory.write("models/a.bin", "a")
        #expect(symlink(root + "/models", root + "/link") == 0)
        for (store, models) in [(root + "/models/.model-sync", root + "/models"),
                                (root + "/link/deeper/store", root + "/models"),
                                (root + "/models", root + "/models"),
                                (root + "/store", root + "/store/models"),
                                (root + "/store", root + "/link/../store/x")] {
            #expect(throws: UsageError.self, "\(store) / \(models)") {
                try StorePlacement.check(storeDir: store, modelsDir: models)
            }
        }
        try StorePlacement.check(storeDir: root + "/.model-sync", modelsDir: root + "/models")
        try StorePlacement.check(storeDir: root + "/models-store", modelsDir: root + "/models")
        // Our own link into the store's generations is the normal state, not nesting.
        directory.write(".model-sync/generations/1/a.bin", "a")
        #expect(symlink(".model-sync/generations/1", root + "/active") == 0)
        try StorePlacement.check(storeDir: root + "/.model-sync", modelsDir: root + "/active")
    }
}
