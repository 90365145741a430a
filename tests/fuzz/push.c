/*
 * libFuzzer harness: push-rule conditions and their evaluation
 * (lib/push/eval.c).  The input is JSON {"event": EVENT, "conditions":
 * [COND, ...], "pattern": S, "path": S, "actions": [...],
 * "display_name": S, "member_count": N, "sender_power": N,
 * "power_levels": {...}}: each condition alone, then a user's rule set
 * of an override rule with those conditions and a content rule with
 * that pattern, evaluated with the server-default rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "push/push.h"
#include "fuzz.h"

static json_t	*defaults;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpush_user	 u = { "@alice:example.org", NULL };
	struct mpush_event	 e;
	json_t			*in, *conds, *us, *acts, *clean, *none;
	const json_t		*c, *ev, *got;
	const char		*pattern, *path, *rid;
	size_t			 i;

	if (defaults == NULL && (defaults = mpush_defaults(NULL)) == NULL)
		abort();
	if ((in = mjson_parse((const char *)data, size, 32)) == NULL)
		return 0;
	if (!json_is_object(ev = json_object_get(in, "event"))) {
		json_decref(in);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.event = ev;
	e.member_count = json_integer_value(json_object_get(in, "member_count"));
	e.sender_power = json_integer_value(json_object_get(in, "sender_power"));
	e.power_levels = json_is_object(json_object_get(in, "power_levels")) ?
	    json_object_get(in, "power_levels") : NULL;
	u.display_name = mjson_str(in, "display_name");
	conds = json_object_get(in, "conditions");
	json_array_foreach(conds, i, c) {
		(void)mpush_cond(c, &u, &e, 0);
		(void)mpush_cond(c, &u, &e, 1);
	}
	if ((path = mjson_str(in, "path")) != NULL)
		(void)mpush_property(ev, path);
	if ((pattern = mjson_str(in, "pattern")) != NULL) {
		const char *body = mjson_str(json_object_get(ev, "content"), "body");

		(void)mpush_pattern_check(pattern);
		if (body != NULL) {
			(void)mpush_glob(pattern, body, 1, 0);
			(void)mpush_glob(pattern, body, 0, 1);
		}
	}
	if ((clean = mpush_actions_clean(json_object_get(in, "actions"))) != NULL) {
		FUZZ_ASSERT(json_is_array(clean));
		(void)mpush_actions_notify(clean);
		(void)mpush_actions_highlight(clean);
		json_decref(clean);
	}
	/* The rules as they are stored: IDs, enabled, actions checked. */
	acts = json_pack("[s]", "notify");
	none = json_array();
	us = json_pack("{s:[{s:s, s:b, s:O, s:O}], s:[{s:s, s:b, s:s, s:O}]}",
	    "override", "rule_id", "o", "enabled", 1, "conditions",
	    json_is_array(conds) ? conds : none, "actions", acts,
	    "content", "rule_id", "c", "enabled", 1, "pattern",
	    pattern != NULL ? pattern : "x", "actions", acts);
	if (us != NULL) {
		rid = NULL;
		if ((got = mpush_eval(defaults, us, &u, &e, &rid)) != NULL)
			FUZZ_ASSERT(rid != NULL);
		json_decref(us);
	}
	json_decref(acts);
	json_decref(none);
	json_decref(in);
	return 0;
}
