#ifndef CMODELSYNC_SYSTEM_H
#define CMODELSYNC_SYSTEM_H

/// renameat2(2) with RENAME_EXCHANGE: Glibc declares renameat2 only under _GNU_SOURCE, which Swift's
/// Glibc module does not define, so it is called through syscall(2). Returns 0, or -1 with errno set
/// (EINVAL when the filesystem cannot exchange).
int CModelSyncSystem_rename_exchange(const char *from, const char *to);

/// renameat2(2) with RENAME_NOREPLACE, for the same reason (syscall(2) itself is variadic).
int CModelSyncSystem_rename_noreplace(const char *from, const char *to);

#include <sys/types.h>

/// copy_file_range(2) on whole descriptors (no offsets): declared only under _GNU_SOURCE too.
ssize_t CModelSyncSystem_copy_file_range(int in, int out, size_t length);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE over `length` bytes from `offset` (0: to the end): starts
/// writing back the dirty pages of that range without waiting for them, declared only under _GNU_SOURCE too.
/// Returns 0, or -1 with errno set.
int CModelSyncSystem_start_writeback(int descriptor, off_t offset, off_t length);

/// malloc_trim(3) with no padding: gives free heap pages back to the system. <malloc.h> is not part of
/// Swift's Glibc module. Returns 1 when memory was released.
int CModelSyncSystem_malloc_trim(void);

/// mallopt(3) M_MMAP_THRESHOLD: allocations of at least `bytes` get their own mapping, returned to the system
/// when freed; setting it also stops glibc from raising the threshold after each large free. Returns 1 on success.
int CModelSyncSystem_set_mmap_threshold(size_t bytes);

/// syncfs(2): writes back every dirty page and inode of the filesystem holding `descriptor`, declared only
/// under _GNU_SOURCE too. Returns 0, or -1 with errno set (writeback errors are reported since Linux 5.8).
int CModelSyncSystem_syncfs(int descriptor);

/// The `f_type` magic number fstatfs(2) gives for the filesystem holding `descriptor` (<sys/vfs.h> is not
/// part of Swift's Glibc module); 0 when fstatfs fails.
unsigned long CModelSyncSystem_filesystem_type(int descriptor);

#endif
