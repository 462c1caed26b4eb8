#if canImport(Glibc)
internal import Glibc
#endif

extension ObjectStore {
    /// The digest of the file at `path` when the store holds that object already, found by reading and
    /// hashing the file without writing anything; nil when the store lacks it or the file is not `size` bytes.
    ///
    /// For a large file whose stat changed but whose size did not (a set copied afresh, a job that rewrote a
    /// file with the same bytes), the object is most often in the store: one read settles it, where copying
    /// the file in to hash it would write it whole and then throw the copy away. When the object is missing
    /// the caller copies the file as usual, and that copy is hashed again: what the store names is always
    /// the bytes it holds.
    func storedDigest(ofFileAt path: String, size: UInt64, read report: ((UInt64) -> Void)?) throws -> Digest? {
        let (digest, total) = try Self.hashFile(at: path, read: report)
        return total == size && contains(digest) ? digest : nil
    }

    /// Bytes compared at each sample of ``mayHold(_:fileAt:size:)``.
    static let sampleBytes = 64 << 10

    /// True when the file at `path` and the object `digest`, both `size` bytes, agree at their start, middle
    /// and end: a cheap sign that the file still holds the object's bytes, worth a hashing pass before any
    /// copy. Never a proof: only the digest decides what the file holds.
    func mayHold(_ digest: Digest, fileAt path: String, size: UInt64) -> Bool {
        guard size > 0 else { return false }
        let file = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return false }
        defer { close(file) }
        let object = Glibc.open(layout.objectPath(digest), O_RDONLY | O_CLOEXEC)
        guard object >= 0 else { return false }
        defer { close(object) }
        let count = Int(min(UInt64(Self.sampleBytes), size))
        let left = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
        let right = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
        defer { left.deallocate(); right.deallocate() }
        for offset in [UInt64(0), (size - UInt64(count)) / 2, size - UInt64(count)] {
            guard pread(file, left.baseAddress, count, off_t(offset)) == count,
                  pread(object, right.baseAddress, count, off_t(offset)) == count,
                  memcmp(left.baseAddress!, right.baseAddress!, count) == 0 else { return false }
        }
        return true
    }
}
