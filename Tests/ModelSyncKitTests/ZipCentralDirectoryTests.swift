import Foundation
import Testing
@testable import ModelSyncKit

@Suite("the central directory reader gives every entry name as stored")
struct ZipCentralDirectoryTests {
    @Test("a zip64 archive (more than 65535 entries) is read whole, in order")
    func zip64() throws {
        let directory = TemporaryDirectory("central-directory")
        let source = directory.write("one.bin", "x")
        let writer = try ZipWriter(creatingAt: directory.path + "/many.zip")
        for index in 0..<65_600 { try writer.addFile(at: source, as: "models/f\(index)", compression: .store) }
        try writer.commit()
        let names = try ZipCentralDirectory.rawNames(ofArchiveAt: directory.path + "/many.zip")
        #expect(names.count == 65_600)
        #expect(names.last == Array("models/f65599".utf8))
        #expect(try ZipArchive(path: directory.path + "/many.zip").entries.count == 65_600)
    }

    @Test("a file that is not a zip, or a directory pointing past the end, is inconsistent")
    func broken() throws {
        let directory = TemporaryDirectory("central-directory")
        let path = directory.write("not.zip", "hello, this is not a zip archive at all")
        let error = try #require(throws: ZipError.self) { try ZipCentralDirectory.rawNames(ofArchiveAt: path) }
        #expect(error.code == .inconsistent)
        var empty: [UInt8] = [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
        empty[10] = 1  // one entry, in a directory of 0 bytes at offset 0
        let lying = directory.write("lying.zip", empty)
        #expect(throws: ZipError.self) { try ZipCentralDirectory.rawNames(ofArchiveAt: lying) }
    }
}
