#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Re-makes the damaged files of a generation in place, each with one `rename(2)` over the old file, so a
/// reader sees the old file or the good one. Used when the active set is the one asked for but fsck found
/// it damaged: building a new generation would leave the damaged one as the rollback target.
struct GenerationRepair {
    let store: Store
    let linkMode: LinkMode

    /// A cheap look (one `lstat` per file): every file is there, regular, of its size. Content is checked
    /// only by `remake` and fsck.
    static func looksWhole(_ number: Int, _ manifest: Manifest, store: Store) -> Bool {
        let root = store.layout.generationPath(number)
        return manifest.files.allSatisfy { entry in
            guard let info = try? FileSystem.linkStatus(root + "/" + entry.path) else { return false }
            return FileSystem.isRegular(info) && UInt64(info.st_size) == entry.size
        }
    }

    /// Re-makes every file of generation `number` that is missing or whose content is not its object's
    /// (a hard link to the object counts as right; anything else is hashed). Returns the paths re-made.
    @discardableResult
    func remake(_ number: Int, _ manifest: Manifest) throws -> [String] {
        let root = store.layout.generationPath(number)
        let materializer = Materializer(objects: store.objects, mode: linkMode)
        var remade: [String] = []
        var directories = Set<String>()
        for entry in manifest.files {
            let path = root + "/" + entry.path
            guard try !isRight(entry, at: path) else { continue }
            let directory = (path as NSString).deletingLastPathComponent
            try FileSystem.makeDirectories(directory)
            let temporary = directory + "/.repair-\(getpid())-" + (path as NSString).lastPathComponent
            try FileSystem.removeTree(temporary)
            do {
                try materializer.materialize(entry, at: temporary)
                if rename(temporary, path) != 0 { throw IOError.current("rename", path) }
            } catch {
                try? FileSystem.removeTree(temporary)
                throw error
            }
            directories.insert(directory)
            remade.append(entry.path)
        }
        for directory in directories { try FileSystem.sync(directory, directory: true) }
        return remade
    }

    private func isRight(_ entry: ManifestEntry, at path: String) throws -> Bool {
        guard let info = try FileSystem.linkStatus(path), FileSystem.isRegular(info),
              UInt64(info.st_size) == entry.size,
              ((info.st_mode & S_IXUSR) != 0) == (entry.mode == .executable) else { return false }
        if let object = try FileSystem.linkStatus(store.objects.path(of: entry.digest)),
           object.st_ino == info.st_ino, object.st_dev == info.st_dev {
            return true
        }
        return try ObjectStore.hashFile(at: path).digest == entry.digest
    }
}
