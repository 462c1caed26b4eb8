#ifndef CMODELSYNC_GIT2_SHIM_H
#define CMODELSYNC_GIT2_SHIM_H
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

/// git_libgit2_opts is variadic: one shim per option kind used.
static inline int CModelSyncGit2_opts_set_int(int option, int value) {
    return git_libgit2_opts(option, value);
}
/// git_libgit2_opts with a size_t argument (GIT_OPT_SET_MWINDOW_SIZE and friends).
static inline int CModelSyncGit2_opts_set_size(int option, size_t value) {
    return git_libgit2_opts(option, value);
}
#endif
