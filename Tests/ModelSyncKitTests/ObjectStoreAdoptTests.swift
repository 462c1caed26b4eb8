import Foundation
import Testing
@testable import ModelSyncKit

@Suite("ObjectStore.adopt: a staged, verified download becomes an object without a copy")
struct ObjectStoreAdoptTests {
    @Test("the staged file is linked in (same inode), once; a staged file of another size is refused")
    func adopts() throws {
        let directory = TemporaryDirectory("object-adopt")
        let store = ObjectStore(layout: StoreLayout(root: directory.path + "/store"))
        try store.prepare()
        let staging = ObjectStore(layout: StoreLayout(root: directory.path + "/store/incoming/1-test"))
        try staging.prepare()
        let bytes = Array("weights".utf8)
        let staged = try staging.insert(bytes: bytes)
        let path = staging.path(of: staged.digest)

        let adopted = try #require(try store.adopt(verifiedFileAt: path, digest: staged.digest, size: staged.size))
        #expect(adopted.created && adopted.digest == staged.digest)
        var stagedInfo = stat(), objectInfo = stat()
        #expect(stat(path, &stagedInfo) == 0 && stat(store.path(of: staged.digest), &objectInfo) == 0)
        #expect(stagedInfo.st_ino == objectInfo.st_ino)
        #expect(try store.readSmallObject(staged.digest) == bytes)

        let again = try #require(try store.adopt(verifiedFileAt: path, digest: staged.digest, size: staged.size))
        #expect(!again.created)
        let other = try staging.insert(bytes: Array("other weights".utf8))
        #expect(throws: IntegrityError.self) {
            try store.adopt(verifiedFileAt: staging.path(of: other.digest), digest: other.digest, size: 3)
        }
        #expect(!store.contains(other.digest))
    }
}
