#if canImport(Glibc)
internal import Glibc
#endif

extension ObjectStore {
    /// Gives a file this process has just written, hashed and verified as `digest` in a staging area on the
    /// store's filesystem (a download made before the store lock, `<store>/incoming/`), its name under
    /// `objects/` with `link(2)` instead of copying it. The staged file must still be a regular file of
    /// `size` bytes. Returns nil when the filesystem cannot link (the caller then copies the bytes, hashing
    /// them again); an existing object is kept, as every write to the store keeps it.
    func adopt(verifiedFileAt path: String, digest: Digest, size: UInt64) throws -> Insertion? {
        guard let info = try FileSystem.linkStatus(path), FileSystem.isRegular(info), UInt64(info.st_size) == size else {
            throw IntegrityError(.sizeMismatch, "staged object \(path) is no longer the \(size)-byte file verified as \(digest)",
                                 hint: "nothing else may write into the store's incoming/ folder; pull again")
        }
        let target = layout.objectPath(digest)
        if FileSystem.exists(target) { return Insertion(digest: digest, size: size, created: false) }
        let createdDirectory = try DurableFile.makeDirectory(layout.objects + "/sha256/" + digest.fanout)
        if link(path, target) != 0 {
            let failure = IOError.current("link", target)
            if failure.errno == EEXIST { return Insertion(digest: digest, size: size, created: false) }
            // Filesystems without hard links (vfat, some FUSE mounts).
            if [EPERM, EOPNOTSUPP, ENOSYS, EXDEV].contains(failure.errno) { return nil }
            throw failure
        }
        try DurableFile.syncParents(of: target, createdParent: createdDirectory)
        return Insertion(digest: digest, size: size, created: true)
    }
}
