#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// A private folder under `<store>/incoming/` for one process's downloads, made and used without the store
/// lock: network waits never hold the lock, and `gc` / `fsck --repair` (which empty `tmp/`) never look here.
///
/// Named `<pid>-<random>`; folders of processes that no longer run (a crash, a SIGKILL) are removed when the
/// next one is made. On the store's filesystem, so free space is measured where the import will need it.
struct IncomingDirectory {
    /// The folder's absolute path.
    let path: String

    /// Makes the folder, after removing the folders of dead processes.
    init(storeDir: String) throws {
        let parent = storeDir + "/incoming"
        try FileSystem.makeDirectories(parent)
        for name in (try? FileSystem.list(parent)) ?? [] {
            guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileSystem.removeTree(parent + "/" + name)
        }
        path = parent + "/\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileSystem.makeDirectories(path)
    }

    /// Removes the folder and what is left in it.
    func remove() {
        try? FileSystem.removeTree(path)
    }
}
