/*
 * config_load.h - read gantryd.conf(5) from disk: file -> YAML tree ->
 * struct gantry_config, every problem reported as "file:key: reason".
 */
#ifndef GANTRYD_CONFIG_LOAD_H
#define GANTRYD_CONFIG_LOAD_H

#include "config.h"
#include "diag.h"

#define CONFIG_FILE_MAX (1024 * 1024)

/* A new config (caller frees with config_free()) or NULL with every
 * problem in diag. */
struct gantry_config *config_load_file(const char *path, struct diag *diag);

#endif /* GANTRYD_CONFIG_LOAD_H */
