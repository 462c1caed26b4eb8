import Foundation

/// A private folder under `<store>/incoming/` for one process's downloads, made and used without the store
/// lock: network waits never hold the lock.
///
/// Named `<pid>-<random>` and locked by this process while it lives (``IncomingFolders``), so `gc`,
/// `fsck --repair` and the next pull remove only folders of processes that no longer run (a crash, a
/// SIGKILL), never one in use. On the store's filesystem, so free space is measured where the import will
/// need it.
struct IncomingDirectory {
    /// The folder and its lock, held as long as a copy of this value lives.
    private let folder: IncomingFolder

    /// The folder's absolute path.
    var path: String { folder.path }

    /// Makes the folder, after removing the folders of processes that no longer run.
    init(storeDir: String) throws {
        folder = try IncomingFolders(storeRoot: storeDir).make()
    }

    /// Removes the folder and what is left in it.
    func remove() {
        folder.remove()
    }
}
