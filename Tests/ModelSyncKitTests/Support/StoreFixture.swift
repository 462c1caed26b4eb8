import Foundation
@testable import ModelSyncKit

/// A store in a temporary directory with two imported model sets, `v1` and `v2`, and a `models` path that
/// no activation has touched yet.
struct StoreFixture {
    let directory = TemporaryDirectory()
    let store: Store
    let modelsDir: String
    let v1: Digest
    let v2: Digest

    init() throws {
        directory.write("v1/a.bin", pseudoRandomBytes(count: 3_000, seed: 1))
        directory.write("v1/sub/b.bin", pseudoRandomBytes(count: 5_000, seed: 2))
        directory.write("v2/a.bin", pseudoRandomBytes(count: 3_000, seed: 3))
        directory.write("v2/sub/b.bin", pseudoRandomBytes(count: 5_000, seed: 2))
        directory.write("v2/c.bin", pseudoRandomBytes(count: 1_000, seed: 4))
        store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        v1 = try store.importDirectory(directory.path + "/v1").manifest
        v2 = try store.importDirectory(directory.path + "/v2").manifest
        modelsDir = directory.path + "/models"
    }

    var generations: Generations { Generations(store: store, modelsDir: modelsDir) }

    /// Activates `manifest` with `options` and returns the result.
    @discardableResult
    func activate(_ manifest: Digest, _ options: ActivationOptions = ActivationOptions()) throws -> ActivationResult {
        try generations.activate(manifest, options: options)
    }

    /// The relative paths and bytes of the files `models` shows now.
    var activeFiles: [String: [UInt8]] { files(under: modelsDir) }

    /// The relative paths and bytes of the files imported as `name` (`v1` or `v2`).
    func importedFiles(_ name: String) -> [String: [UInt8]] { files(under: directory.path + "/" + name) }

    /// The record of generation `number`, or nil.
    func record(_ number: Int) throws -> GenerationRecord? {
        try store.generations().first { $0.number == number }
    }

    /// The numbered directories under `generations/`.
    var generationDirectories: [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.layout.generations)) ?? []).compactMap(Int.init).sorted()
    }

    private func files(under root: String) -> [String: [UInt8]] {
        let resolved = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        var result: [String: [UInt8]] = [:]
        guard let walker = FileManager.default.enumerator(atPath: resolved) else { return result }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = resolved + "/" + relative
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            result[relative] = Array((try? Data(contentsOf: URL(fileURLWithPath: full))) ?? Data())
        }
        return result
    }
}
