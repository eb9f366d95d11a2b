/* json.h - checks shared by every reader of user-supplied JSON (game records, the original project's .model
 * files, ONNX Runtime profiles). */
#ifndef NRPS_UTIL_JSON_H
#define NRPS_UTIL_JSON_H

#include <cjson/cJSON.h>

#include "util/util.h"

/* NRPS_OK when no object anywhere in v holds a key twice (cJSON keeps both and its lookups return the first, while
 * Python's json and jq keep the last: such a file means different things to different readers). Otherwise
 * NRPS_ERR_FORMAT with the error "duplicate key \"K\" (a key may appear only once per object)", the key shown in
 * one line (control characters, quotes and backslashes as \xNN), or NRPS_ERR_NOMEM. */
nrps_status nrps_json_unique_keys(const cJSON *v);

#endif
