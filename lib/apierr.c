/*
 * apierr.c - build API error bodies (apierr.h).
 */
#include "apierr.h"

#include <stdio.h>

json_t *
apierr_json(
    enum gantry_err code, const char *message, const struct diag *details)
{
	json_t *list = json_array(), *err;

	if (details != NULL) {
		for (size_t i = 0; i < details->n; i++)
			json_array_append_new(
			    list, json_string(details->msgs[i]));
		if (details->dropped > 0) {
			char more[64];

			snprintf(more, sizeof(more), "... and %zu more",
			    details->dropped);
			json_array_append_new(list, json_string(more));
		}
	}
	err = json_pack("{s:{s:s, s:s, s:o}}", "error", "code",
	    gantry_err_name(code), "message", message ? message : "", "details",
	    json_incref(list));
	if (err == NULL) /* message was not valid UTF-8 */
		err = json_pack("{s:{s:s, s:s, s:O}}", "error", "code",
		    gantry_err_name(code), "message",
		    "(error message was not valid UTF-8)", "details", list);
	json_decref(list);
	return err;
}

char *
apierr_body(
    enum gantry_err code, const char *message, const struct diag *details)
{
	json_t *j = apierr_json(code, message, details);
	char *s;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}
