#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// `<store>/incoming/`: one folder per process that downloads before it takes the store lock (a Git LFS or
/// OCI pull's staged blobs, a RunPod archive), named `<pid>-<random>`.
///
/// An owner holds a shared `flock` on its folder for as long as it uses it, so any process (another pid
/// namespace sharing the store too) can tell a folder in use from one a crash left. A folder is left over
/// only when nobody holds that lock and the pid its name carries does not run (a folder of a version that
/// took no lock). Making a folder and judging the others happen under a lock on `incoming/` itself, so a
/// folder is never judged between its `mkdir` and its owner's lock. `gc` and `fsck --repair` remove the
/// leftovers, and so does the next pull. On the store's filesystem, so free space is measured where the import
/// will need it.
struct IncomingFolders {
    /// `<store>/incoming`.
    let path: String

    /// The incoming folders of the store at `root`.
    init(storeRoot root: String) {
        path = root + "/incoming"
    }

    /// Makes a folder for this process, locked until the returned owner is released, after removing leftovers.
    func make() throws -> IncomingFolder {
        try FileSystem.makeDirectories(path)
        let parent = try lock(LOCK_EX)
        defer { close(parent) }
        for leftover in try leftoversUnlocked() { try? FileSystem.removeTree(leftover) }
        let folder = path + "/\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileSystem.makeDirectories(folder)
        let descriptor = try FileSystem.open(folder, O_RDONLY | O_DIRECTORY)
        guard flock(descriptor, LOCK_SH) == 0 else {
            let failure = IOError.current("flock", folder)
            close(descriptor)
            try? FileSystem.removeTree(folder)
            throw failure
        }
        return IncomingFolder(path: folder, descriptor: descriptor)
    }

    /// The paths of the folders left over by processes that no longer run, judged with `incoming/` locked
    /// against new folders (shared with other judges), so no folder is judged between its `mkdir` and its
    /// owner's lock; none while `incoming/` does not exist.
    func leftovers() throws -> [String] {
        guard FileSystem.exists(path) else { return [] }
        let parent = try lock(LOCK_SH)
        defer { close(parent) }
        return try leftoversUnlocked()
    }

    /// ``leftovers()`` for a caller that holds the lock on `incoming/` already.
    private func leftoversUnlocked() throws -> [String] {
        try FileSystem.list(path).sorted().filter { try !isInUse(path + "/" + $0, name: $0) }.map { path + "/" + $0 }
    }

    /// Whether an owner holds `folder`'s lock, or the pid in its name runs. A plain file is never in use.
    private func isInUse(_ folder: String, name: String) throws -> Bool {
        guard let info = try FileSystem.linkStatus(folder), FileSystem.isDirectory(info) else { return false }
        let descriptor = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        // A folder that cannot be opened (removed meanwhile, no permission) is not judged a leftover.
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        // Taking the lock for a moment is the only way to ask whether someone holds it; released at close.
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 { return true }
        guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno != ESRCH
    }

    /// `incoming/` opened and locked in `mode`, waiting for the other side.
    private func lock(_ mode: Int32) throws -> Int32 {
        let descriptor = try FileSystem.open(path, O_RDONLY | O_DIRECTORY)
        while flock(descriptor, mode) != 0 {
            guard errno == EINTR else {
                let failure = IOError.current("flock", path)
                close(descriptor)
                throw failure
            }
        }
        return descriptor
    }
}

/// One process's folder under `<store>/incoming/`, its lock held until this is released or ``remove()`` runs.
final class IncomingFolder: Sendable {
    /// The folder's absolute path.
    let path: String
    /// The descriptor holding the lock, nil once let go (closed once, under this lock).
    private let state: Locked<Int32?>

    init(path: String, descriptor: Int32) {
        self.path = path
        state = Locked(descriptor)
    }

    /// Removes the folder and what is left in it, then lets go of its lock.
    func remove() {
        try? FileSystem.removeTree(path)
        release()
    }

    deinit { release() }

    private func release() {
        state.withLock { descriptor in
            if let open = descriptor { close(open) }
            descriptor = nil
        }
    }
}
