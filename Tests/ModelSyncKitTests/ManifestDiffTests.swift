import Testing
@testable import ModelSyncKit

@Suite("Manifest diff")
struct ManifestDiffTests {
    private func manifest(_ entries: [(String, Digest, FileMode)]) throws -> Manifest {
        // The empty file's digest goes with size 0 (a manifest refuses it with any other size).
        try Manifest(files: entries.map {
            ManifestEntry(path: $0.0, size: $0.1 == ManifestFixtures.empty ? 0 : 3, digest: $0.1, mode: $0.2)
        })
    }

    @Test("added, removed and changed paths are listed bytewise; a mode change counts as a change")
    func diff() throws {
        let abc = ManifestFixtures.abc
        let empty = ManifestFixtures.empty
        let old = try manifest([
            ("same", abc, .regular), ("gone/b", abc, .regular), ("gone/A", abc, .regular),
            ("content", abc, .regular), ("mode", abc, .regular),
        ])
        let new = try manifest([
            ("same", abc, .regular), ("é-new", abc, .regular), ("Z-new", abc, .regular),
            ("content", empty, .regular), ("mode", abc, .executable),
        ])
        let diff = ManifestDiff(from: old, to: new)
        #expect(diff.added == ["Z-new", "é-new"])
        #expect(diff.removed == ["gone/A", "gone/b"])
        #expect(diff.changed == ["content", "mode"])
        #expect(!diff.isEmpty)

        let back = ManifestDiff(from: new, to: old)
        #expect(back.added == diff.removed)
        #expect(back.removed == diff.added)
        #expect(back.changed == diff.changed)
    }

    @Test("a manifest compared with itself has no differences")
    func identical() throws {
        let manifest = try Manifest(files: ManifestFixtures.entries)
        #expect(ManifestDiff(from: manifest, to: manifest).isEmpty)
        #expect(ManifestDiff(from: manifest, to: try Manifest(files: [])).removed
            == ["B/weights.bin", "models/say \"hi\".txt", "é/run.sh"])
    }
}
