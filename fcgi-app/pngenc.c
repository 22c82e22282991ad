#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "buf.h"
#include "log.h"
#include "pngenc.h"

/* The image is at most 64 KiB of raw rows: a 4 KiB window loses little, and zlib's state
 * (about 40 KiB at memory level 6) stays below malloc's mapping threshold. */
#define PNGENC_WINDOW_BITS 12
#define PNGENC_MEM_LEVEL 6

static void
pngenc_put(png_structp p, png_bytep data, size_t n)
{
	buf_add(png_get_io_ptr(p), data, n);
}

static void
pngenc_nothing(png_structp p)
{
	(void)p;
}

static void
pngenc_fail(png_structp p, png_const_charp msg)
{
	log_err("png: %s", msg);
	png_longjmp(p, 1);
}

static void
pngenc_warned(png_structp p, png_const_charp msg)
{
	(void)p;
	log_warn("png: %s", msg);
}

void *
pngenc_encode(int w, int h, enum pngenc_kind kind, const unsigned char (*palette)[3], int npalette,
    unsigned char *const *rows, int level, int *len)
{
	png_structp p;
	png_infop info = NULL;
	png_color pal[256];
	struct buf out;
	void *volatile bytes = NULL;

	*len = 0;
	if (w < 1 || h < 1 || (kind == PNGENC_PALETTE8 && (npalette < 1 || npalette > 256)))
		return NULL;
	buf_init(&out);
	if ((p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, pngenc_fail, pngenc_warned)) ==
	    NULL || (info = png_create_info_struct(p)) == NULL) {
		log_err("png: out of memory");
		png_destroy_write_struct(&p, NULL);
		return NULL;
	}
	if (setjmp(png_jmpbuf(p)) != 0) {
		png_destroy_write_struct(&p, &info);
		buf_free(&out);
		return NULL;
	}
	png_set_write_fn(p, &out, pngenc_put, pngenc_nothing);
	png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_compression_level(p, level);
	png_set_compression_window_bits(p, PNGENC_WINDOW_BITS);
	png_set_compression_mem_level(p, PNGENC_MEM_LEVEL);
	if (kind == PNGENC_GRAY1) {
		png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 1, PNG_COLOR_TYPE_GRAY,
		    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
	} else {
		for (int i = 0; i < npalette; i++)
			pal[i] = (png_color){ palette[i][0], palette[i][1], palette[i][2] };
		png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_PALETTE,
		    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
		png_set_PLTE(p, info, pal, npalette);
	}
	png_write_info(p, info);
	png_write_rows(p, (png_bytepp)rows, (png_uint_32)h);
	png_write_end(p, info);
	png_destroy_write_struct(&p, &info);
	if (out.len > 0 && (bytes = malloc(out.len)) != NULL) {
		memcpy(bytes, out.data, out.len);
		*len = (int)out.len;
	}
	buf_free(&out);
	return bytes;
}

void
pngenc_free(void *png)
{
	free(png);
}
