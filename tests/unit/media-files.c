/* lib/media: which media IDs name files, and the sharded paths made of them. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "media/media.h"
#include "testlib.h"

int
main(void)
{
	static const char *const bad[] = {
		"", "..", "../etc", "a/b", "a.b", "a\\b", "a b", "é", "a%2Fb",
	};
	struct mconfig	 conf;
	char		*p, id[300];

	CHECK(mmedia_id_check("s69xjz1Y9XQJJIk6tkRFFW6m"));
	CHECK(mmedia_id_check("Synapse_style-ID"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mmedia_id_check(bad[i]))
			FAIL("%s: taken as a media ID", bad[i]);
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	CHECK(!mmedia_id_check(id));
	id[255] = '\0';
	CHECK(mmedia_id_check(id));

	p = mmedia_relpath(MFILE_LOCAL, "abcdefgh", NULL);
	CHECK(p != NULL && strcmp(p, "local/ab/cd/efgh") == 0);
	free(p);
	p = mmedia_relpath(MFILE_THUMB, "abcdefgh", "32x32-crop");
	CHECK(p != NULL && strcmp(p, "thumb/ab/cd/efgh/32x32-crop") == 0);
	free(p);
	p = mmedia_relpath(MFILE_LOCAL, "abc", NULL);
	CHECK(p != NULL && strcmp(p, "local/__/__/abc") == 0);
	free(p);
	memset(&conf, 0, sizeof(conf));
	conf.media_path = "/srv/media";
	p = mmedia_abspath(&conf, MFILE_LOCAL, "abcdefgh", NULL);
	CHECK(p != NULL && strcmp(p, "/srv/media/local/ab/cd/efgh") == 0);
	free(p);
	/* An ID that is not one is never unlinked. */
	CHECK(mmedia_unlink(&conf, "../../etc/passwd") == -1);
	return failed;
}
