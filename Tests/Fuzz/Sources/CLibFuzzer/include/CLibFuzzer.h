#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, exported by the runtime that `-sanitize=fuzzer` links (compiler-rt's FuzzerDriver.cpp).
// Each fuzz target calls it from its own top-level code: SwiftPM renames an executable's entry point and
// binds `main` to it at link time, so libFuzzer's own `main` (which would call LLVMFuzzerTestOneInput) is
// never pulled from the runtime archive.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

// memfd_create(2), which Swift's Glibc module does not declare without _GNU_SOURCE: an anonymous file in
// memory, so targets that need a path (libzip opens archives by path) never touch a disk.
int CLibFuzzer_memfd_create(const char *name);

#endif
