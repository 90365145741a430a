/* Search in the store: the full-text index of room events, and the user directory. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"
#include "store/extern.h"

/* The marks MSTMT_SEARCH_MARKED puts around the words it matched. */
#define MARK_START	'\001'
#define MARK_END	'\002'
/* The rank's column in a page, after MEVENT_COLS. */
#define RANK_COL	MEVENT_NCOLS

/*
 * The text of content["m.topic"] in its text/plain representation (spec:
 * m.room.topic, TopicContentBlock: mimetype defaults to text/plain), or
 * NULL.  Borrowed.
 */
static const char *
topic_plain(const json_t *content)
{
	const json_t	*reps = json_object_get(json_object_get(content, "m.topic"), "m.text");
	const json_t	*r;
	size_t		 i;

	json_array_foreach(reps, i, r) {
		const char *mime = mjson_str(r, "mimetype");

		if ((mime == NULL || strcmp(mime, "text/plain") == 0) &&
		    mjson_str(r, "body") != NULL)
			return mjson_str(r, "body");
	}
	return NULL;
}

int
mstore_search_put(struct mdb *db, int64_t stream, const char *type, const json_t *content)
{
	const char	*text = NULL, *plain;
	char		*both = NULL;
	int64_t		 n;

	if (strcmp(type, "m.room.message") == 0)
		text = mjson_str(content, "body");
	else if (strcmp(type, "m.room.name") == 0)
		text = mjson_str(content, "name");
	else if (strcmp(type, "m.room.topic") == 0) {
		text = mjson_str(content, "topic");
		/* Spec: the text/plain m.topic body is searched as well. */
		if ((plain = topic_plain(content)) != NULL) {
			if (text == NULL)
				text = plain;
			else if (strcmp(text, plain) != 0) {
				if (asprintf(&both, "%s\n%s", text, plain) == -1)
					return -1;
				text = both;
			}
		}
	}
	if (text == NULL || *text == '\0')
		return 0;
	/* In the event's transaction, nothing waits on it. */
	n = mdb_exec_ahead(db, MSTMT_SEARCH_PUT, "is", stream, text);
	free(both);
	return n < 0 ? -1 : 0;
}

int
mstore_search_del(struct mdb *db, const char *event_id)
{
	return mdb_exec(db, MSTMT_SEARCH_DEL, "s", event_id) < 0 ? -1 : 0;
}

int
mstore_search_purge_room(struct mdb *db, const char *room_id)
{
	return mdb_exec(db, MSTMT_SEARCH_PURGE_ROOM, "s", room_id) < 0 ? -1 : 0;
}

/* 1 when the bytes [s, s + n) hold a letter, a digit or a non-ASCII character. */
static int
wordy(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Writes [s, s + n) to f as an FTS5 string: in double quotes, quotes doubled. */
static void
fts5_quote(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

/* Ends the AND group of positive terms pos and negated terms neg on f. */
static void
fts5_branch(FILE *f, char *pos, char *neg, int *branches)
{
	if (pos == NULL || *pos == '\0')
		return;		/* only negations: matches nothing, as in PostgreSQL */
	fprintf(f, "%s((%s)%s)", *branches > 0 ? " OR " : "", pos, neg != NULL ? neg : "");
	(*branches)++;
}

/*
 * Ends the AND group being written to *pos and *neg (buffers *ps and
 * *ns) as a branch of q; all four are NULL after.
 */
static void
fts5_group_end(FILE *q, FILE **pos, FILE **neg, char **ps, char **ns, int *branches)
{
	fclose(*pos);
	fclose(*neg);
	*pos = *neg = NULL;
	fts5_branch(q, *ps, *ns, branches);
	free(*ps);
	free(*ns);
	*ps = *ns = NULL;
}

/*
 * Turns the user's words into an FTS5 query the way PostgreSQL's
 * websearch_to_tsquery reads them, so that both engines take the same
 * syntax: words must all match, "quoted words" as a phrase, -word must
 * not match, and "or" between words makes alternatives.  Every term is
 * quoted, so no input is an FTS5 syntax error.  Returns a malloc'd
 * query, "" when no word can match, or NULL on failure.
 */
static char *
fts5_query(const char *term)
{
	FILE		*q = NULL, *pos = NULL, *neg = NULL;
	char		*qs = NULL, *ps = NULL, *ns = NULL;
	size_t		 qsz, psz, nsz;
	const char	*p = term, *w;
	size_t		 n;
	int		 branches = 0, negate, quoted, npos = 0;

	if ((q = open_memstream(&qs, &qsz)) == NULL)
		return NULL;
	while (*p != '\0') {
		if (pos == NULL && ((pos = open_memstream(&ps, &psz)) == NULL ||
		    (neg = open_memstream(&ns, &nsz)) == NULL))
			goto fail;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		negate = *p == '-';
		if (negate)
			p++;
		quoted = *p == '"';
		if (quoted) {
			w = ++p;
			while (*p != '\0' && *p != '"')
				p++;
			n = (size_t)(p - w);
			if (*p == '"')
				p++;
		} else {
			w = p;
			while (*p != '\0' && !isspace((unsigned char)*p) && *p != '"')
				p++;
			n = (size_t)(p - w);
		}
		if (!quoted && !negate && n == 2 && strncasecmp(w, "or", 2) == 0) {
			/* An alternative starts: close the group so far. */
			fts5_group_end(q, &pos, &neg, &ps, &ns, &branches);
			npos = 0;
			continue;
		}
		if (!wordy(w, n))
			continue;
		if (negate) {
			fputs(" NOT ", neg);
			fts5_quote(neg, w, n);
		} else {
			if (npos++ > 0)
				fputc(' ', pos);
			fts5_quote(pos, w, n);
		}
	}
	if (pos != NULL)
		fts5_group_end(q, &pos, &neg, &ps, &ns, &branches);
	if (fclose(q) != 0) {
		free(qs);
		return NULL;
	}
	return qs;
fail:
	if (pos != NULL)
		fclose(pos);
	if (neg != NULL)
		fclose(neg);
	fclose(q);
	free(ps);
	free(ns);
	free(qs);
	return NULL;
}

/* JSON text of a list for a statement parameter, malloc'd; NULL for NULL or on failure. */
static char *
jlist(const json_t *l, int *err)
{
	char *s;

	if (l == NULL)
		return NULL;
	if ((s = json_dumps(l, JSON_COMPACT)) == NULL)
		*err = 1;
	return s;
}

static void
hit_fini(void *elem)
{
	struct msearch_hit *h = elem;

	mevrow_fini(&h->ev);
}

void
msearch_result_fini(struct msearch_result *r)
{
	if (r == NULL)
		return;
	mstore_list_free(r->hits, r->hitsz, sizeof(*r->hits), hit_fini);
	json_decref(r->rooms);
	json_decref(r->senders);
	json_decref(r->highlights);
	memset(r, 0, sizeof(*r));
}

/* Adds count and left to the group key in groups.  0 or -1. */
static int
group_add(json_t *groups, const char *key, int64_t count, int64_t left)
{
	json_t *g = json_object_get(groups, key);

	if (g == NULL) {
		if ((g = json_pack("{s:I,s:I}", "count", (json_int_t)0, "left",
		    (json_int_t)0)) == NULL || json_object_set_new(groups, key, g) == -1)
			return -1;
	}
	return json_object_set_new(g, "count", json_integer(
	    json_integer_value(json_object_get(g, "count")) + count)) == -1 ||
	    json_object_set_new(g, "left", json_integer(
	    json_integer_value(json_object_get(g, "left")) + left)) == -1 ? -1 : 0;
}

/* The words between marks in text, lower-cased (ASCII), as keys of set.  0 or -1. */
static int
marked_words(json_t *set, const char *text)
{
	const char	*p = text, *end;
	char		*w;
	int		 rc = 0;

	while (rc == 0 && (p = strchr(p, MARK_START)) != NULL) {
		if ((end = strchr(++p, MARK_END)) == NULL)
			break;
		if (end > p) {
			if ((w = strndup(p, (size_t)(end - p))) == NULL)
				return -1;
			for (char *c = w; *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
			rc = json_object_set_new(set, w, json_true());
			free(w);
		}
		p = end + 1;
	}
	return rc;
}

/* Fills r->highlights from the marked text of the hits.  0 or -1. */
static int
highlights(struct mdb *db, const char *match, struct msearch_result *r)
{
	struct mcur	*c = NULL;
	json_t		*streams = NULL, *set = NULL;
	char		*js = NULL;
	const char	*k;
	json_t		*v;
	int		 rc = -1, more;

	if ((r->highlights = json_array()) == NULL)
		return -1;
	if (r->hitsz == 0)
		return 0;
	if ((streams = json_array()) == NULL || (set = json_object()) == NULL)
		goto out;
	for (size_t i = 0; i < r->hitsz; i++)
		if (json_array_append_new(streams, json_integer(r->hits[i].ev.stream)) == -1)
			goto out;
	if ((js = json_dumps(streams, JSON_COMPACT)) == NULL ||
	    (c = mdb_query(db, MSTMT_SEARCH_MARKED, "ss", match, js)) == NULL)
		goto out;
	while ((more = mcur_next(c)) == 1)
		if (mcur_text(c, 0) != NULL && marked_words(set, mcur_text(c, 0)) == -1)
			goto out;
	if (more == -1)
		goto out;
	json_object_foreach(set, k, v)
		if (json_array_append_new(r->highlights, json_string(k)) == -1)
			goto out;
	rc = 0;
out:
	mcur_free(c);
	free(js);
	json_decref(streams);
	json_decref(set);
	return rc;
}

/* Fills r->count, r->rooms and r->senders.  0 or -1. */
static int
counts(struct mdb *db, const struct msearch_query *q, const char *match, char *const l[4],
    struct msearch_result *r)
{
	struct mcur	*c;
	int		 more;

	if ((r->rooms = json_object()) == NULL || (r->senders = json_object()) == NULL)
		return -1;
	if (q->order == MSEARCH_RANK)
		c = mdb_query(db, MSTMT_SEARCH_COUNT_RANK, "sssssiii", match, l[0], l[1], l[2],
		    l[3], (int64_t)q->contains_url, q->after_rank, q->after_stream);
	else
		c = mdb_query(db, MSTMT_SEARCH_COUNT_RECENT, "sssssii", match, l[0], l[1], l[2],
		    l[3], (int64_t)q->contains_url, q->after_stream);
	if (c == NULL)
		return -1;
	while ((more = mcur_next(c)) == 1) {
		int64_t n = mcur_int(c, 2), left = mcur_int(c, 3);

		r->count += n;
		if (mcur_text(c, 0) == NULL || mcur_text(c, 1) == NULL ||
		    group_add(r->rooms, mcur_text(c, 0), n, left) == -1 ||
		    group_add(r->senders, mcur_text(c, 1), n, left) == -1) {
			more = -1;
			break;
		}
	}
	mcur_free(c);
	return more == -1 ? -1 : 0;
}

static int
hit_row(struct mcur *c, void *elem)
{
	struct msearch_hit *h = elem;

	h->rank = mcur_int(c, RANK_COL);
	return mstore_evrow_read(c, &h->ev);
}

/* Fills r->hits with one page.  0 or -1. */
static int
page(struct mdb *db, const struct msearch_query *q, const char *match, char *const l[4],
    struct msearch_result *r)
{
	struct mcur	*c;
	void		*v = r->hits;
	int		 rc;

	if (q->order == MSEARCH_RANK)
		c = mdb_query(db, MSTMT_SEARCH_RANK, "sssssiiii", match, l[0], l[1], l[2], l[3],
		    (int64_t)q->contains_url, q->after_rank, q->after_stream, q->limit);
	else
		c = mdb_query(db, MSTMT_SEARCH_RECENT, "sssssiii", match, l[0], l[1], l[2], l[3],
		    (int64_t)q->contains_url, q->after_stream, q->limit);
	rc = mcur_collect(c, sizeof(*r->hits), hit_row, hit_fini, &v, &r->hitsz);
	r->hits = v;
	return rc;
}

int
mstore_search(struct mdb *db, const struct msearch_query *q, struct msearch_result *r)
{
	char	*match = NULL, *l[4] = { NULL, NULL, NULL, NULL };
	int	 err = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	/* PostgreSQL reads the words itself (websearch_to_tsquery). */
	if (mdb_backend(db) == MDB_POSTGRES)
		match = strdup(q->term);
	else
		match = fts5_query(q->term);
	if (match == NULL)
		goto out;
	if (*match == '\0') {
		if ((r->rooms = json_object()) == NULL || (r->senders = json_object()) == NULL ||
		    (r->highlights = json_array()) == NULL)
			goto out;
		rc = 0;
		goto out;
	}
	l[0] = jlist(q->rooms, &err);
	l[1] = jlist(q->types, &err);
	l[2] = jlist(q->senders, &err);
	l[3] = jlist(q->not_senders, &err);
	if (err || l[0] == NULL || l[1] == NULL)
		goto out;
	if (page(db, q, match, l, r) == -1 || counts(db, q, match, l, r) == -1 ||
	    highlights(db, match, r) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		msearch_result_fini(r);
	for (size_t i = 0; i < 4; i++)
		free(l[i]);
	free(match);
	return rc;
}

json_t *
mstore_search_profiles(struct mdb *db, int64_t state_group, const json_t *users)
{
	struct mcur	*c = NULL;
	json_t		*out = NULL, *ev = NULL;
	char		*js = NULL;
	int		 more;

	if ((out = json_object()) == NULL || (js = json_dumps(users, JSON_COMPACT)) == NULL ||
	    (c = mdb_query(db, MSTMT_SEARCH_MEMBERS, "is", state_group, js)) == NULL)
		goto fail;
	/* Older links come first: a later row is the newer membership. */
	while ((more = mcur_next(c)) == 1) {
		const json_t	*content;
		json_t		*p;

		if (mcur_text(c, 0) == NULL || mcur_text(c, 1) == NULL ||
		    (ev = json_loads(mcur_text(c, 1), 0, NULL)) == NULL ||
		    (p = json_object()) == NULL)
			goto fail;
		content = json_object_get(ev, "content");
		if (mjson_str(content, "displayname") != NULL)
			json_object_set(p, "displayname", json_object_get(content, "displayname"));
		if (mjson_str(content, "avatar_url") != NULL)
			json_object_set(p, "avatar_url", json_object_get(content, "avatar_url"));
		json_decref(ev);
		ev = NULL;
		if (json_object_set_new(out, mcur_text(c, 0), p) == -1)
			goto fail;
	}
	if (more == -1)
		goto fail;
	mcur_free(c);
	free(js);
	return out;
fail:
	json_decref(ev);
	mcur_free(c);
	free(js);
	json_decref(out);
	return NULL;
}

json_t *
mstore_userdir_search(struct mdb *db, const char *user_id, const char *term, int64_t limit)
{
	struct mcur	*c = NULL;
	json_t		*out = NULL, *u;
	char		*local = NULL, *start = NULL, *word = NULL;
	int		 more = -1;

	/* A leading @ is part of the user ID pattern, not of a display name. */
	if ((local = mstore_like_pattern("@", term[0] == '@' ? term + 1 : term, "%", 1)) == NULL ||
	    (start = mstore_like_pattern("", term, "%", 1)) == NULL ||
	    (word = mstore_like_pattern("% ", term, "%", 1)) == NULL ||
	    (out = json_array()) == NULL ||
	    (c = mdb_query(db, MSTMT_USERDIR_SEARCH, "ssssi", user_id, local, start, word,
	    limit)) == NULL)
		goto out;
	while ((more = mcur_next(c)) == 1) {
		if (mcur_text(c, 0) == NULL ||
		    (u = json_pack("{s:s}", "user_id", mcur_text(c, 0))) == NULL ||
		    json_array_append_new(out, u) == -1) {
			more = -1;
			break;
		}
		/* Spec: display_name and avatar_url are left out when unknown. */
		if (mcur_text(c, 1) != NULL)
			json_object_set_new(u, "display_name", json_string(mcur_text(c, 1)));
		if (mcur_text(c, 2) != NULL)
			json_object_set_new(u, "avatar_url", json_string(mcur_text(c, 2)));
	}
out:
	mcur_free(c);
	free(local);
	free(start);
	free(word);
	if (more == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}
