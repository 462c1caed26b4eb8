#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ModelSyncKit

@Suite("who may read what the store holds")
struct StorePermissionsTests {
    @Test("an object is read-only, no more readable than its source, and always readable by its owner")
    func objectModes() {
        let umasked = StorePermissions.objectBase & ~processUmask
        #expect(StorePermissions.objectMode() == umasked | 0o400)
        #expect(StorePermissions.objectMode(sourceAccess: 0o444) == umasked | 0o400)
        #expect(StorePermissions.objectMode(sourceAccess: 0o400) == 0o400)
        #expect(StorePermissions.objectMode(sourceAccess: 0) == 0o400)
        #expect(StorePermissions.objectMode(sourceAccess: 0o440) == (umasked & 0o440) | 0o400)
    }

    @Test("copies get their object's read bits, and executables the execute bits of the same people")
    func copyModes() {
        #expect(StorePermissions.copyMode(objectMode: 0o100444, executable: false) == 0o444)
        #expect(StorePermissions.copyMode(objectMode: 0o444, executable: true) == 0o555)
        #expect(StorePermissions.copyMode(objectMode: 0o400, executable: true) == 0o500)
        #expect(StorePermissions.copyMode(objectMode: 0o440, executable: true) == 0o550)
    }

    @Test("fsck accepts any read-only mode the owner can read, and repairs by removing write and execute bits")
    func fsckModes() {
        for valid: mode_t in [0o444, 0o440, 0o400, 0o404] { #expect(StorePermissions.isValidObjectMode(valid)) }
        for invalid: mode_t in [0o644, 0o000, 0o044, 0o555, 0o4444] { #expect(!StorePermissions.isValidObjectMode(invalid)) }
        #expect(StorePermissions.repairedObjectMode(0o644) == 0o444)
        #expect(StorePermissions.repairedObjectMode(0o600) == 0o400)
        #expect(StorePermissions.repairedObjectMode(0o000) == 0o400)
    }

    @Test("a folder that others or the group cannot traverse hides the files below it from them")
    func folderAccess() throws {
        let directory = TemporaryDirectory("permissions")
        chmod(directory.path, 0o755)
        let open = directory.write("open/file", [1])
        let shut = directory.write("shut/inner/file", [2])
        let group = directory.write("group/file", [3])
        chmod(directory.path + "/open", 0o755)
        chmod(directory.path + "/shut", 0o700)
        chmod(directory.path + "/shut/inner", 0o755)
        chmod(directory.path + "/group", 0o750)
        // Only what this test controls counts: the folders above the temp folder are taken as they are.
        let above = StorePermissions.readAccess(ofFileAt: directory.path + "/probe", mode: 0o644)
        #expect(StorePermissions.readAccess(ofFileAt: open, mode: 0o644) == above)
        #expect(StorePermissions.readAccess(ofFileAt: open, mode: 0o600) == 0o400)
        #expect(StorePermissions.readAccess(ofFileAt: shut, mode: 0o644) == 0o400)
        #expect(StorePermissions.readAccess(ofFileAt: group, mode: 0o644) == above & 0o440)
    }
}
