#ifndef CMODELSYNC_ZIP_SHIM_H
#define CMODELSYNC_ZIP_SHIM_H
#include <zip.h>
#endif
