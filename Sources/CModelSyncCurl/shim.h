#ifndef CMODELSYNC_CURL_SHIM_H
#define CMODELSYNC_CURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic: Swift cannot call them. One typed shim per
// argument kind, each a single call.

/// curl_easy_setopt with a long argument.
static inline CURLcode CModelSyncCurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
/// curl_easy_setopt with a string argument (curl copies strings since 7.17).
static inline CURLcode CModelSyncCurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
/// curl_easy_setopt with an opaque pointer argument (WRITEDATA, HTTPHEADER, XFERINFODATA...).
static inline CURLcode CModelSyncCurl_easy_setopt_ptr(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
/// curl_easy_setopt with a curl_off_t argument (RESUME_FROM_LARGE, MAXFILESIZE_LARGE...).
static inline CURLcode CModelSyncCurl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
/// curl_easy_setopt with a write or header callback.
static inline CURLcode CModelSyncCurl_easy_setopt_write_callback(CURL *handle, CURLoption option,
        size_t (*callback)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(handle, option, callback);
}
/// curl_easy_setopt with a read callback (CURLOPT_READFUNCTION: the body of an upload, pulled by curl).
static inline CURLcode CModelSyncCurl_easy_setopt_read_callback(CURL *handle,
        size_t (*callback)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}
/// curl_easy_setopt with a transfer-progress callback.
static inline CURLcode CModelSyncCurl_easy_setopt_xferinfo_callback(CURL *handle,
        int (*callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}
/// curl_easy_getinfo for a long result.
static inline CURLcode CModelSyncCurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
/// curl_easy_getinfo for a curl_off_t result.
static inline CURLcode CModelSyncCurl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
/// curl_easy_getinfo for a string result (owned by the handle).
static inline CURLcode CModelSyncCurl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
