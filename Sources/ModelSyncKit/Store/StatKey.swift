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

extension StatKey {
    /// The racy-file rule: true when the file may have changed in the same timestamp tick as the moment its
    /// hash began (`hashStart`, nanoseconds since 1970 on the clock the kernel stamps files with), so that a
    /// later write in that tick would leave mtime, ctime and size as they are and the cached digest wrong.
    ///
    /// An entry is cached only when the file's last change (the later of mtime and ctime: mtime can be set
    /// back, ctime cannot) lies in a tick strictly before the one the hash began in. Every write after that
    /// moment stamps the file with that tick or a later one, so it changes the key. The tick is the
    /// filesystem's granularity: a file whose times carry no nanoseconds is on a filesystem that keeps whole
    /// seconds (ext3, FAT's two seconds, some network filesystems), so the tick is taken as two seconds;
    /// otherwise it is the kernel's coarse clock resolution, the clock that stamps files.
    func isRacy(hashStart: Int64) -> Bool {
        let changed = max(mtimeNanoseconds, ctimeNanoseconds)
        let tick = Self.timestampTick(mtimeNanoseconds: mtimeNanoseconds, ctimeNanoseconds: ctimeNanoseconds)
        let startTick = hashStart - ((hashStart % tick) + tick) % tick
        return changed >= startTick
    }

    /// The timestamp granularity, in nanoseconds, of the filesystem that stamped these times.
    static func timestampTick(mtimeNanoseconds: Int64, ctimeNanoseconds: Int64) -> Int64 {
        let second: Int64 = 1_000_000_000
        if mtimeNanoseconds % second == 0 && ctimeNanoseconds % second == 0 { return 2 * second }
        return coarseClockResolution
    }

    /// The resolution of `CLOCK_REALTIME_COARSE`, the clock Linux stamps file times with (one scheduler tick,
    /// 1 to 10 ms); one millisecond where it cannot be read.
    static let coarseClockResolution: Int64 = {
        var resolution = timespec()
        guard clock_getres(CLOCK_REALTIME_COARSE, &resolution) == 0 else { return 1_000_000 }
        let nanoseconds = Int64(resolution.tv_sec) * 1_000_000_000 + Int64(resolution.tv_nsec)
        return max(1, nanoseconds)
    }()

    /// Now, in nanoseconds since 1970, on the clock file times are stamped with: a write after this reading
    /// gets a time no earlier than it.
    static func fileClockNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
