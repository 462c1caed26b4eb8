#ifndef CMODELSYNC_YAML_SHIM_H
#define CMODELSYNC_YAML_SHIM_H
#include <yaml.h>
#endif
