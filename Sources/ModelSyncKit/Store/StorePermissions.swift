#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Who may read what the store holds: never more people than could read the files it came from, and never
/// more than the umask allows.
///
/// An object is read-only, and readable by group or others only when its first source file was — counting
/// the folders on its path: a 0644 file inside a 0700 folder is private, so its object is 0400. A copied
/// generation file (executables, `link_mode: copy`) gets its object's read bits (plus the matching execute
/// bits); a hard link shares the object's inode. A new generation's folder takes the mode of the folder it
/// replaces (the real models folder at first use, then the active generation's), so a private models folder
/// stays private through every swap.
///
/// The same content imported from a readable file first keeps that object readable: the bytes were
/// readable already.
enum StorePermissions {
    /// The widest mode an object ever has.
    static let objectBase: mode_t = 0o444

    /// The mode of a new object: 0444 narrowed by the umask and, for an object copied from a file, by who could
    /// read that file (`sourceAccess`, see ``readAccess(ofFileAt:mode:)``). The owner can always read it.
    static func objectMode(sourceAccess: mode_t? = nil) -> mode_t {
        var mode = objectBase & ~processUmask
        if let sourceAccess { mode &= sourceAccess }
        return mode | 0o400
    }

    /// True for a mode fsck accepts on an object: read-only, readable by its owner.
    static func isValidObjectMode(_ mode: mode_t) -> Bool {
        mode & ~objectBase == 0 && mode & 0o400 != 0
    }

    /// The mode fsck gives an object whose mode is wrong: its read bits kept, write and execute removed.
    static func repairedObjectMode(_ mode: mode_t) -> mode_t {
        (mode & objectBase) | 0o400
    }

    /// The mode of a generation file copied from an object of mode `objectMode`: its read bits, and for an
    /// executable the execute bits of the same people.
    static func copyMode(objectMode: mode_t, executable: Bool) -> mode_t {
        let read = objectMode & objectBase
        return executable ? read | (read >> 2) : read
    }

    /// The read bits (0444 at most) of the people who can read the file at `path` whose mode is `mode`: its own
    /// read bits, cleared for group or others when a folder on its path does not let them through.
    static func readAccess(ofFileAt path: String, mode: mode_t) -> mode_t {
        var access = mode & objectBase
        let through = traversal(of: (path as NSString).deletingLastPathComponent)
        if through & 0o010 == 0 { access &= ~0o040 }
        if through & 0o001 == 0 { access &= ~0o004 }
        return access
    }

    /// The execute bits for group (0o010) and others (0o001) that every folder from `directory` up to `/`
    /// grants; remembered per folder (a models folder of 200,000 files has a few hundred folders).
    private static func traversal(of directory: String) -> mode_t {
        if directory.isEmpty || directory == "/" { return 0o011 }
        if let known = traversalCache.withLock({ $0[directory] }) { return known }
        var info = stat()
        let own: mode_t = stat(directory, &info) == 0 ? info.st_mode & 0o011 : 0
        let result = own & traversal(of: (directory as NSString).deletingLastPathComponent)
        traversalCache.withLock { $0[directory] = result }
        return result
    }

    private static let traversalCache = Locked<[String: mode_t]>([:])
}
