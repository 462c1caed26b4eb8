#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Checks a generation directory against its manifest: every file present, same size, same execute bit,
/// same content (a hard link to a verified object counts as verified; anything else is re-hashed), and no
/// extra files. When fsck repairs, wrong files are re-made from the store and extra ones removed.
struct GenerationChecker {
    let store: Store
    /// Objects already verified by this fsck run: only those are trusted to re-make a file from.
    let good: Set<Digest>

    /// Checks generation `number` against `manifest`, noting each problem (and, when repairing, its fix)
    /// in `findings`.
    func check(generation number: Int, manifest: Manifest, findings: inout FsckFindings) throws {
        let root = store.layout.generationPath(number)
        guard let rootInfo = try FileSystem.linkStatus(root), FileSystem.isDirectory(rootInfo) else {
            findings.note("generation \(number): directory \(root) is missing")
            return
        }
        let materializer = Materializer(objects: store.objects, mode: .auto)
        var expected = Set<String>()
        for entry in manifest.files {
            expected.insert(entry.path)
            let path = root + "/" + entry.path
            guard let issue = try problem(with: entry, at: path) else { continue }
            let fix = { () throws -> FsckReport.Repair in
                try FileSystem.makeDirectories((path as NSString).deletingLastPathComponent)
                try FileSystem.removeTree(path)
                try materializer.materialize(entry, at: path)
                // Claimed only once the new file passes the same check that found the old one wrong.
                if let still = try problem(with: entry, at: path) {
                    throw IntegrityError(.sizeMismatch, "\(path) \(still) after it was re-made from the store")
                }
                return .init(digest: entry.digest, path: path, action: "rematerialized")
            }
            try findings.note("generation \(number): \(entry.path) \(issue)", fix: good.contains(entry.digest) ? fix : nil)
        }
        // The same walk as import and pack: an entry of any kind, or with a name that is not UTF-8, that the
        // manifest does not list is unexpected.
        for extra in try DirectoryWalker().entries(under: root) where !expected.contains(extra.relativePath) {
            let path = extra.absolutePath
            try findings.note("generation \(number): unexpected file \(extra.relativePath)") {
                if extra.kind == .undecodableName {
                    try FileSystem.removeFile(rawPath: extra.rawAbsolutePath)
                } else {
                    try FileSystem.removeTree(path)
                    try Fsck.requireGone(path)
                }
                return .init(digest: nil, path: path, action: "removed")
            }
        }
    }

    /// nil when the file matches its entry, else what is wrong with it.
    private func problem(with entry: ManifestEntry, at path: String) throws -> String? {
        guard let info = try FileSystem.linkStatus(path) else { return "is missing" }
        guard FileSystem.isRegular(info) else { return "is not a regular file" }
        guard UInt64(info.st_size) == entry.size else { return "has \(info.st_size) bytes, expected \(entry.size)" }
        let executable = (info.st_mode & S_IXUSR) != 0
        if executable != (entry.mode == .executable) {
            return "has mode \(String(info.st_mode & 0o7777, radix: 8)), expected \(entry.mode.rawValue)"
        }
        if (info.st_mode & 0o222) != 0 {
            return "is writable (mode \(String(info.st_mode & 0o7777, radix: 8))): generation files are read-only"
        }
        if let object = try FileSystem.linkStatus(store.objects.path(of: entry.digest)),
           object.st_ino == info.st_ino, object.st_dev == info.st_dev, good.contains(entry.digest) {
            return nil
        }
        let (actual, _) = try ObjectStore.hashFile(at: path)
        return actual == entry.digest ? nil : "was modified: content hashes to \(actual), expected \(entry.digest)"
    }
}
