/*
 * myelin-thumbnail: makes one thumbnail with libvips, run by
 * myelin-media under hard limits.  It refuses before decoding what is
 * not a JPEG, PNG, GIF or WebP and any image of more than -p pixels
 * (the header says how many): a decompression bomb is never expanded.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vips/vips.h>

/* Exit status for an image refused (myelin-media answers 404). */
#define REFUSED	3

static const char *const loaders[] = {
	"VipsForeignLoadJpegFile", "VipsForeignLoadPngFile", "VipsForeignLoadSpngFile",
	"VipsForeignLoadGifFile", "VipsForeignLoadNsgifFile", "VipsForeignLoadWebpFile",
};

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-thumbnail -p pixels -w width -h height -m crop | scale"
	    " -t type source target\n"
	    "  (type image/png or image/jpeg; image/gif or image/webp: animated)\n");
	exit(2);
}

static long long
num(const char *s, long long max)
{
	char		*end;
	long long	 n = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n < 1 || n > max)
		usage();
	return n;
}

int
main(int argc, char *argv[])
{
	VipsImage	*in = NULL, *out = NULL, *flat = NULL;
	const char	*method = NULL, *type = NULL, *loader, *src, *dst;
	long long	 maxpx = 0, w = 0, h = 0, px;
	size_t		 i;
	int		 ch, rc, animated;
	char		 srcopt[4096 + 8];

	while ((ch = getopt(argc, argv, "h:m:p:t:w:")) != -1) {
		switch (ch) {
		case 'h': h = num(optarg, 10000); break;
		case 'm': method = optarg; break;
		case 'p': maxpx = num(optarg, 1000000000000LL); break;
		case 't': type = optarg; break;
		case 'w': w = num(optarg, 10000); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || !w || !h || !maxpx || method == NULL || type == NULL ||
	    (strcmp(method, "crop") != 0 && strcmp(method, "scale") != 0) ||
	    (strcmp(type, "image/png") != 0 && strcmp(type, "image/jpeg") != 0 &&
	    strcmp(type, "image/gif") != 0 && strcmp(type, "image/webp") != 0))
		usage();
	/* GIF and WebP out: an animated thumbnail, every frame (n=-1) shrunk. */
	animated = strcmp(type, "image/gif") == 0 || strcmp(type, "image/webp") == 0;
	src = argv[optind];
	dst = argv[optind + 1];
	if (VIPS_INIT(argv[0]) != 0)
		errx(1, "libvips does not start");
	/* One thread, no cache, no loaders meant for trusted files only. */
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_block_untrusted_set(TRUE);
	if ((loader = vips_foreign_find_load(src)) == NULL) {
		warnx("%s: not an image libvips reads", src);
		return REFUSED;
	}
	for (i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
		if (strcmp(loader, loaders[i]) == 0)
			break;
	if (i == sizeof(loaders) / sizeof(loaders[0])) {
		warnx("%s: %s images get no thumbnail", src, loader);
		return REFUSED;
	}
	/* The header only: nothing is decoded until pixels are asked for. */
	if ((in = vips_image_new_from_file(src, "access", VIPS_ACCESS_SEQUENTIAL, NULL)) == NULL) {
		warnx("%s: %s", src, vips_error_buffer());
		return REFUSED;
	}
	px = (long long)vips_image_get_width(in) * vips_image_get_height(in) *
	    vips_image_get_n_pages(in);
	g_object_unref(in);
	if (px > maxpx) {
		warnx("%s: %lld pixels, over the limit of %lld", src, px, maxpx);
		return REFUSED;
	}
	/* "[n=-1]": every page of the file (its loader's option), for an animated one. */
	snprintf(srcopt, sizeof(srcopt), "%s%s", src, animated ? "[n=-1]" : "");
	if (strlen(src) + 7 >= sizeof(srcopt) || vips_thumbnail(srcopt, &out, (int)w, "height",
	    (int)h, "size", VIPS_SIZE_DOWN, "crop", strcmp(method, "crop") == 0 ?
	    VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE, NULL) != 0) {
		warnx("%s: %s", src, vips_error_buffer());
		return REFUSED;
	}
	if (strcmp(type, "image/jpeg") == 0) {
		/* JPEG has no alpha: transparent parts become white. */
		if (vips_image_hasalpha(out)) {
			double white[] = { 255, 255, 255 };
			VipsArrayDouble *bg = vips_array_double_new(white, 3);

			rc = vips_flatten(out, &flat, "background", bg, NULL);
			vips_area_unref(VIPS_AREA(bg));
			g_object_unref(out);
			if (rc != 0) {
				warnx("%s: %s", src, vips_error_buffer());
				return REFUSED;
			}
			out = flat;
		}
		rc = vips_jpegsave(out, dst, "Q", 80, "strip", TRUE, NULL);
	} else if (strcmp(type, "image/gif") == 0)
		rc = vips_gifsave(out, dst, "strip", TRUE, NULL);
	else if (strcmp(type, "image/webp") == 0)
		rc = vips_webpsave(out, dst, "strip", TRUE, NULL);
	else
		rc = vips_pngsave(out, dst, "strip", TRUE, NULL);
	g_object_unref(out);
	if (rc != 0) {
		warnx("%s: %s", dst, vips_error_buffer());
		unlink(dst);
		return 1;
	}
	vips_shutdown();
	return 0;
}
