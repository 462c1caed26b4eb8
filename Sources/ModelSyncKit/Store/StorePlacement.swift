#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Where the store may sit relative to the models folder: beside it, never inside it nor around it.
///
/// The first activation replaces a real models folder with a symbolic link and removes the folder; a store
/// inside it would go with it. A models folder inside the store would be a generation's neighbour that
/// fsck and retention treat as theirs. Both are refused before anything moves, whatever spelled the
/// paths (flags, config keys, `..`, symbolic links on the way).
public enum StorePlacement {
    /// Throws `UsageError` (exit 2) naming both paths when the store and `modelsDir` are the same folder or
    /// one lies inside the other.
    public static func check(storeDir: String, modelsDir: String) throws {
        let store = resolved(storeDir)
        // The models folder is normally our symbolic link into the store's generations: resolve only the
        // folders above it, and its own target only when that target is a folder of the user's.
        let modelsAbsolute = FileSystem.absolute(modelsDir)
        let models = resolved((modelsAbsolute as NSString).deletingLastPathComponent) + "/"
            + (modelsAbsolute as NSString).lastPathComponent
        var candidates = [models]
        if let info = try? FileSystem.linkStatus(modelsAbsolute), FileSystem.isSymlink(info) {
            let target = resolved(modelsAbsolute)
            if !isInside(target, store + "/generations") { candidates.append(target) }
        }
        for candidate in candidates {
            if candidate == store || isInside(store, candidate) {
                throw UsageError("the store \(storeDir) is inside the models folder \(modelsDir)"
                                 + (candidate == store ? " (they are the same folder)" : ""),
                                 hint: hint(modelsDir: modelsAbsolute))
            }
            if isInside(candidate, store) {
                throw UsageError("the models folder \(modelsDir) is inside the store \(storeDir)",
                                 hint: hint(modelsDir: modelsAbsolute))
            }
        }
    }

    private static func hint(modelsDir: String) -> String {
        let beside = (modelsDir as NSString).deletingLastPathComponent + "/.model-sync"
        return "keep them side by side: set --store (or model_sync.store_dir) to a folder outside the models folder, "
            + "such as \(beside), and --models-dir (or model_sync.models_dir) outside the store"
    }

    /// True when `path` is strictly below `folder`.
    static func isInside(_ path: String, _ folder: String) -> Bool {
        folder == "/" ? path != "/" : path.hasPrefix(folder + "/")
    }

    /// `path` made absolute with every symbolic link resolved in the part that exists; the missing tail is
    /// appended as written (a store that does not exist yet still has a place).
    static func resolved(_ path: String) -> String {
        var existing = FileSystem.absolute(path)
        var tail: [String] = []
        while true {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                return tail.isEmpty ? base : (base == "/" ? "" : base) + "/" + tail.joined(separator: "/")
            }
            if existing == "/" { return "/" + tail.joined(separator: "/") }
            tail.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
    }
}
