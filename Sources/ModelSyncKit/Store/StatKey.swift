#if canImport(Glibc)
internal import Glibc
#endif

/// What the stat cache compares to decide that a file is unchanged since it was hashed:
/// path, device, inode, size, and modification and status-change times in nanoseconds.
struct StatKey: Equatable, Sendable {
    var path: String
    var device: UInt64
    var inode: UInt64
    var size: UInt64
    var mtimeNanoseconds: Int64
    var ctimeNanoseconds: Int64

    init(path: String, device: UInt64, inode: UInt64, size: UInt64, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }

    init(path: String, stat info: stat) {
        self.init(path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: UInt64(info.st_size),
                  mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                  ctimeNanoseconds: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec))
    }
}
