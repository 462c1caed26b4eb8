internal import CModelSyncSystem

/// How the process's heap gives memory back to the system, set once at start by a long-running command line.
public enum HeapPolicy {
    /// The size from which an allocation gets a mapping of its own: 1 MiB.
    static let largeAllocationBytes = 1 << 20

    /// Gives every allocation of 1 MiB or more a mapping of its own, unmapped as soon as it is freed.
    ///
    /// glibc's default raises that threshold (up to 32 MiB) each time a large block is freed, so the big lists
    /// of a folder of many small files (the walk's entries, the digests, the manifest's entries) end up in
    /// the heap proper, whose freed pages stay counted until the heap is trimmed: an import of 200,000 files
    /// peaked about 10 MiB higher for it.
    public static func returnLargeBlocksWhenFreed() {
        _ = CModelSyncSystem_set_mmap_threshold(largeAllocationBytes)
    }
}
