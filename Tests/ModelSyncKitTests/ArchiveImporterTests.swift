import Foundation
import Testing
@testable import ModelSyncKit

private let archiveFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/archives").path

/// A store with one active set, to prove a rejected archive leaves everything as it was.
private final class ArchiveScene {
    let directory = TemporaryDirectory("archive-import")
    let store: Store
    let modelsDir: String

    init() throws {
        store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        modelsDir = directory.path + "/models"
        directory.write("incoming/old.onnx", pseudoRandomBytes(count: 3000, seed: 9))
        let imported = try store.importDirectory(directory.path + "/incoming")
        _ = try Generations(store: store, modelsDir: modelsDir).activate(imported.manifest, options: ActivationOptions())
    }

    func importer(extractSubdir: String = "models", maxExtractBytes: UInt64 = 20 << 30,
                  free: UInt64? = nil) -> ArchiveImporter {
        ArchiveImporter(store: store, extractSubdir: extractSubdir, maxExtractBytes: maxExtractBytes,
                        freeSpace: free.map { value in { _ in value } })
    }

    /// Every path under the scene's directory, with sizes; object files listed by name.
    func snapshot() throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory.path)!
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String {
            if path.hasPrefix("store/index.sqlite") || path == "store/lock" { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/" + path)
            paths.append("\(path) \(attributes[.size] ?? 0)")
        }
        return paths.sorted()
    }

    var activeGeneration: Int? { Generations(store: store, modelsDir: modelsDir).activeNumber }
}

private func fixture(_ name: String) -> String { archiveFixtures + "/" + name }

@Suite("ArchiveImporter imports delta and legacy archives and refuses hostile ones whole")
struct ArchiveImporterTests {
    @Test("a delta archive's blobs are hash-checked into the store and its manifest recorded")
    func deltaArchive() throws {
        let scene = try ArchiveScene()
        let result = try scene.importer().importArchive(at: fixture("delta-valid.zip"))
        #expect(result.format == .delta)
        #expect(result.newObjects == 2)
        #expect(result.newBytes == 50)
        let manifest = try scene.store.manifest(result.manifest)
        #expect(manifest.files.map(\.path) == ["btc/model.onnx", "eth/model.onnx"])
        for file in manifest.files { #expect(scene.store.objects.contains(file.digest)) }
        // Importing it again writes nothing new.
        let again = try scene.importer().importArchive(at: fixture("delta-valid.zip"))
        #expect(again.manifest == result.manifest && again.newObjects == 0)
    }

    @Test("a legacy archive takes only the files under extract_subdir and makes a manifest for them")
    func legacyArchive() throws {
        let scene = try ArchiveScene()
        let result = try scene.importer().importArchive(at: fixture("legacy-valid.zip"))
        #expect(result.format == .legacy)
        let manifest = try scene.store.manifest(result.manifest)
        #expect(manifest.files.map(\.path) == ["btc/model.onnx", "eth/model.onnx"])
        #expect(manifest.files[0].digest == SHA256.hash(Array("btc-onnx-bytes".utf8) + [0, 1, 2, 10]))
        #expect(manifest.files[1].size == UInt64("eth-onnx-bytes ".utf8.count * 64))
        #expect(result.newObjects == 2)
        // With extract_subdir "." everything is taken, README included.
        let all = try scene.importer(extractSubdir: ".").importArchive(at: fixture("legacy-valid.zip"))
        #expect(try scene.store.manifest(all.manifest).files.map(\.path)
            == ["README.txt", "models/btc/model.onnx", "models/eth/model.onnx"])
    }

    @Test("a legacy archive with nothing under extract_subdir is refused")
    func legacyWithoutSubdir() throws {
        let scene = try ArchiveScene()
        let error = try #require(throws: IntegrityError.self) {
            try scene.importer(extractSubdir: "weights").importArchive(at: fixture("legacy-valid.zip"))
        }
        #expect(error.message.hasSuffix("rejected: it holds no file under weights/ (runpod.extract_subdir)"))
    }

    @Test("a delta manifest whose objects are neither in the archive nor in the store is refused, naming them")
    func missingObject() throws {
        let scene = try ArchiveScene()
        let before = try scene.snapshot()
        let error = try #require(throws: IntegrityError.self) {
            try scene.importer().importArchive(at: fixture("delta-missing-object.zip"))
        }
        #expect(error.code == .missingObject)
        #expect(error.category.exitCode == 3)
        #expect(error.message.contains("sha256:ade2a918af0c96d3cd4a647a64e279b82f110663fe2a2e086039fc639f8fc5f9 (eth/model.onnx)"))
        #expect(try scene.snapshot() == before)
        // Once the store has that blob (an earlier pull), the same archive is accepted.
        _ = try scene.store.objects.insert(bytes: Array("weights of the eth model\n".utf8))
        #expect(try scene.importer().importArchive(at: fixture("delta-missing-object.zip")).newObjects == 1)
    }

    /// Each hostile fixture, and a fragment of the message that must explain it.
    static let hostile: [(String, String)] = [
        ("hostile-dotdot.zip", #"entry "../evil": path "../evil" has a ".." component"#),
        ("hostile-absolute.zip", #"entry "/abs/path": path "/abs/path" is absolute"#),
        ("hostile-backslash.zip", "contains a backslash"),
        ("hostile-control-char.zip", "contains the control character U+0001"),
        ("hostile-symlink.zip", #"entry "models/btc/link" is a symbolic link"#),
        ("hostile-duplicate.zip", "File already exists"),
        ("hostile-crc.zip", "CRC error"),
        ("hostile-truncated.zip", "Not a zip archive"),
        ("hostile-not-a-zip.zip", "Not a zip archive"),
        ("hostile-encrypted.zip", #"entry "models/btc/model.onnx" is encrypted"#),
        ("hostile-oversize.zip", "longer than the declared size of 1000 bytes"),
        ("hostile-undersize.zip", "model.onnx"),
        ("hostile-bomb.zip", "more than 200:1 (a zip bomb)"),
        ("hostile-delta-manifest-path.zip", #"manifest.json: manifest files[0]: path "../escape.onnx" has a ".." component"#),
        ("hostile-delta-stray-entry.zip", #"unexpected entry "run.sh" in a delta archive"#),
        ("hostile-legacy-outside.zip", #"entry "../outside.txt""#),
        ("hostile-legacy-crc-late.zip", "CRC error"),
        ("delta-wrong-blob.zip", "hashes to"),
        ("hostile-nul-byte.zip", "contains a NUL character"),
        ("hostile-not-utf8.zip", "has a name that is not valid UTF-8"),
        ("hostile-long-component.zip", "has a component of 256 bytes, more than 255"),
        ("hostile-long-path.zip", "bytes long, more than 4096"),
    ]

    @Test("every hostile fixture is refused with exit 3; store, active set and everything else untouched",
          arguments: hostile)
    func hostileFixture(_ name: String, _ fragment: String) throws {
        let scene = try ArchiveScene()
        let before = try scene.snapshot()
        let active = scene.activeGeneration
        var caught: (any ModelSyncError)?
        do {
            _ = try scene.importer().importArchive(at: fixture(name))
        } catch let error as any ModelSyncError {
            caught = error
        }
        let error = try #require(caught, "\(name) was accepted")
        #expect(error.category.exitCode == 3, "\(name): \(error.message)")
        #expect(error.message.contains(fragment), "\(name): \(error.message)")
        #expect(try scene.snapshot() == before, "\(name) changed files")
        #expect(scene.activeGeneration == active)
        #expect(try scene.store.generations().count == 1)
    }

    @Test("a declared total beyond max_extract_bytes is refused before any byte is read")
    func declaredTotal() throws {
        let scene = try ArchiveScene()
        let error = try #require(throws: IntegrityError.self) {
            try scene.importer(maxExtractBytes: 100).importArchive(at: fixture("legacy-valid.zip"))
        }
        #expect(error.message.hasSuffix("rejected: its entries declare more than the 100 bytes allowed by runpod.max_extract_bytes"))
    }

    @Test("a declared total beyond the free space is refused as out of space (exit 9)")
    func freeSpace() throws {
        let scene = try ArchiveScene()
        let error = try #require(throws: OutOfSpaceError.self) {
            try scene.importer(free: 10).importArchive(at: fixture("delta-valid.zip"))
        }
        #expect(error.category.exitCode == 9)
        #expect(error.message.hasPrefix("no space left on "))
        #expect(error.message.contains("needs 361 bytes, only 10 are free"))
    }

    @Test("the store's object count is unchanged after a late CRC error: earlier blobs are removed again")
    func lateCRCRollsBack() throws {
        let scene = try ArchiveScene()
        let before = try scene.store.objects.enumerate().objects
        #expect(throws: ZipError.self) {
            try scene.importer().importArchive(at: fixture("hostile-legacy-crc-late.zip"))
        }
        #expect(try scene.store.objects.enumerate().objects == before)
        #expect(!scene.store.objects.contains(SHA256.hash(Array("first file, intact\n".utf8))))
    }
}
