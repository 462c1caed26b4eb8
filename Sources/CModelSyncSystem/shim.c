#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/fs.h>
#include "CModelSyncSystem.h"

int CModelSyncSystem_rename_exchange(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE);
}

int CModelSyncSystem_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

ssize_t CModelSyncSystem_copy_file_range(int in, int out, size_t length) {
    return copy_file_range(in, NULL, out, NULL, length, 0);
}

int CModelSyncSystem_start_writeback(int descriptor, off_t offset, off_t length) {
    return sync_file_range(descriptor, offset, length, SYNC_FILE_RANGE_WRITE);
}

int CModelSyncSystem_malloc_trim(void) {
    return malloc_trim(0);
}

int CModelSyncSystem_set_mmap_threshold(size_t bytes) {
    return mallopt(M_MMAP_THRESHOLD, (int)bytes);
}

int CModelSyncSystem_syncfs(int descriptor) {
    return syncfs(descriptor);
}

unsigned long CModelSyncSystem_filesystem_type(int descriptor) {
    struct statfs info;
    if (fstatfs(descriptor, &info) != 0) return 0;
    return (unsigned long)info.f_type;
}
