#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Checks a generation directory against its manifest: every file present, same size, same execute bit,
/// same content (a hard link to a verified object counts as verified; anything else is re-hashed), and no
/// extra files. With `repair`, re-materializes wrong files from the store and removes extra ones.
struct GenerationChecker {
    let store: Store
    let repair: Bool
    /// Objects already verified by this fsck run.
    let good: Set<Digest>

    func check(generation number: Int, manifest: Manifest) throws
        -> (problems: [String], repaired: [FsckReport.Repair], remaining: [String]) {
        let root = store.layout.generationPath(number)
        var problems: [String] = []
        var repaired: [FsckReport.Repair] = []
        var remaining: [String] = []
        guard let rootInfo = try FileSystem.linkStatus(root), FileSystem.isDirectory(rootInfo) else {
            let line = "generation \(number): directory \(root) is missing"
            return ([line], [], [line])
        }
        let materializer = Materializer(objects: store.objects, mode: .auto)
        var expected = Set<String>()
        for entry in manifest.files {
            expected.insert(entry.path)
            let path = root + "/" + entry.path
            let issue = try problem(with: entry, at: path)
            guard let issue else { continue }
            let line = "generation \(number): \(entry.path) \(issue)"
            problems.append(line)
            if repair && good.contains(entry.digest) {
                try FileSystem.makeDirectories((path as NSString).deletingLastPathComponent)
                try FileSystem.removeTree(path)
                try materializer.materialize(entry, at: path)
                repaired.append(.init(digest: entry.digest, path: path, action: "rematerialized"))
            } else {
                remaining.append(line)
            }
        }
        for extra in try listFiles(root, relative: "") where !expected.contains(extra) {
            let path = root + "/" + extra
            let line = "generation \(number): unexpected file \(extra)"
            problems.append(line)
            if repair {
                try FileSystem.removeTree(path)
                repaired.append(.init(digest: nil, path: path, action: "removed"))
            } else {
                remaining.append(line)
            }
        }
        return (problems, repaired, remaining)
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

    private func listFiles(_ directory: String, relative: String) throws -> [String] {
        var result: [String] = []
        for name in try FileSystem.list(directory) {
            let path = directory + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            if let info = try FileSystem.linkStatus(path), FileSystem.isDirectory(info) {
                result += try listFiles(path, relative: relativePath)
            } else {
                result.append(relativePath.precomposedStringWithCanonicalMapping)
            }
        }
        return result
    }
}
