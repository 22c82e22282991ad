#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "log.h"
#include "pngenc.h"

/*
 * The deflate stream (RFC 1951) is one block with the fixed Huffman codes, and a match is
 * looked for at two distances only: the pixel before (a run) and the byte a row above (what a
 * row repeats of the one before it, filter byte included). Those two are where these images
 * repeat themselves; searching anywhere else costs more than it saves.
 */

#define PNGENC_MIN_MATCH 3
#define PNGENC_MAX_MATCH 258
#define PNGENC_MAX_DIST 32768
#define PNGENC_MAX_BYTES (64u << 20)	/* of rows, filter bytes included */

struct pngenc_bits {
	unsigned char *out;
	uint64_t acc;
	int n;
};

/* Appends the n (at most 32) low bits of v, least significant first, as deflate packs them. */
static void
pngenc_put(struct pngenc_bits *b, uint32_t v, int n)
{
	b->acc |= (uint64_t)v << b->n;
	b->n += n;
	if (b->n >= 32) {
		b->out[0] = (unsigned char)b->acc;
		b->out[1] = (unsigned char)(b->acc >> 8);
		b->out[2] = (unsigned char)(b->acc >> 16);
		b->out[3] = (unsigned char)(b->acc >> 24);
		b->out += 4;
		b->acc >>= 32;
		b->n -= 32;
	}
}

/* The last bits, padded to the byte. */
static void
pngenc_flush(struct pngenc_bits *b)
{
	for (; b->n > 0; b->n -= 8) {
		*b->out++ = (unsigned char)b->acc;
		b->acc >>= 8;
	}
	b->n = 0;
}

/* A code as it goes out: its bits, in deflate's order, and how many. */
struct pngenc_code {
	uint32_t bits;
	int n;
};

static const uint16_t pngenc_len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
	131, 163, 195, 227, 258
};
static const uint8_t pngenc_len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0
};
static const uint16_t pngenc_dist_base[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
	2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
};
static const uint8_t pngenc_dist_extra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
	13, 13
};

/* The fixed code (RFC 1951 3.2.6): every literal, and every length 3..258 with its extra
 * bits, ready to append. Made once, by pngenc_tables. */
static struct pngenc_code pngenc_lit[256], pngenc_len[PNGENC_MAX_MATCH + 1];
static pthread_once_t pngenc_once = PTHREAD_ONCE_INIT;

/* A Huffman code is defined most significant bit first: reversed into deflate's bit order. */
static uint32_t
pngenc_reverse(uint32_t code, int n)
{
	uint32_t r = 0;

	for (int i = 0; i < n; i++)
		r |= ((code >> i) & 1u) << (n - 1 - i);
	return r;
}

/* The fixed code of literal/length symbol sym (0..287). */
static struct pngenc_code
pngenc_symbol(int sym)
{
	if (sym < 144)
		return (struct pngenc_code){ pngenc_reverse(0x30u + (uint32_t)sym, 8), 8 };
	if (sym < 256)
		return (struct pngenc_code){ pngenc_reverse(0x190u + (uint32_t)(sym - 144), 9), 9 };
	if (sym < 280)
		return (struct pngenc_code){ pngenc_reverse((uint32_t)(sym - 256), 7), 7 };
	return (struct pngenc_code){ pngenc_reverse(0xc0u + (uint32_t)(sym - 280), 8), 8 };
}

static void
pngenc_tables(void)
{
	int i = 0;

	for (int c = 0; c < 256; c++)
		pngenc_lit[c] = pngenc_symbol(c);
	for (int len = PNGENC_MIN_MATCH; len <= PNGENC_MAX_MATCH; len++) {
		struct pngenc_code sym;

		while (i < 28 && pngenc_len_base[i + 1] <= len)
			i++;
		sym = pngenc_symbol(257 + i);
		pngenc_len[len].bits = sym.bits | (uint32_t)(len - pngenc_len_base[i]) << sym.n;
		pngenc_len[len].n = sym.n + pngenc_len_extra[i];
	}
}

/* The distance code of dist (1..32768) with its extra bits. */
static struct pngenc_code
pngenc_dist(int dist)
{
	int d = 29;

	while (pngenc_dist_base[d] > dist)
		d--;
	return (struct pngenc_code){ pngenc_reverse((uint32_t)d, 5) |
	    (uint32_t)(dist - pngenc_dist_base[d]) << 5, 5 + pngenc_dist_extra[d] };
}

/* How many bytes from p on (at most max) equal those dist bytes before. */
static int
pngenc_same(const unsigned char *p, size_t dist, int max)
{
	const unsigned char *q = p - dist;
	int n = 0;

	/* Eight bytes at a time; the first that differs is the lowest set byte of the xor (the
	 * loads are little-endian on every machine this is built for, and checked below). */
	for (; n + 8 <= max; n += 8) {
		uint64_t a, b;

		memcpy(&a, p + n, 8);
		memcpy(&b, q + n, 8);
		if (a != b) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return n + __builtin_ctzll(a ^ b) / 8;
#else
			break;
#endif
		}
	}
	while (n < max && p[n] == q[n])
		n++;
	return n;
}

/* Deflates raw[0..n), in rows of rowlen bytes and pixels of pixlen, into out (room for
 * n + n / 8 + 16 bytes); returns the end. */
static unsigned char *
pngenc_deflate(const unsigned char *raw, size_t n, size_t rowlen, size_t pixlen,
    unsigned char *out)
{
	struct pngenc_bits b = { out, 0, 0 };
	struct pngenc_code left = pngenc_dist((int)pixlen), above = { 0, 0 };
	struct pngenc_code end = pngenc_symbol(256);
	size_t i = 0;

	if (rowlen <= PNGENC_MAX_DIST)
		above = pngenc_dist((int)rowlen);
	pngenc_put(&b, 1, 1);	/* the last block */
	pngenc_put(&b, 1, 2);	/* fixed codes */
	while (i < n) {
		int max = n - i < PNGENC_MAX_MATCH ? (int)(n - i) : PNGENC_MAX_MATCH;
		/* Most bytes of a noisy image are literals: the first bytes say so, without a
		 * call. */
		int room = max >= PNGENC_MIN_MATCH;
		int run = room && i >= pixlen && raw[i] == raw[i - pixlen] &&
		    raw[i + 1] == raw[i + 1 - pixlen] ? pngenc_same(raw + i, pixlen, max) : 0;
		int up = room && i >= rowlen && above.n > 0 && raw[i] == raw[i - rowlen] &&
		    raw[i + 1] == raw[i + 1 - rowlen] ? pngenc_same(raw + i, rowlen, max) : 0;
		int len = up >= run ? up : run;

		if (len >= PNGENC_MIN_MATCH) {
			const struct pngenc_code *d = up >= run ? &above : &left;

			pngenc_put(&b, pngenc_len[len].bits, pngenc_len[len].n);
			pngenc_put(&b, d->bits, d->n);
			i += (size_t)len;
		} else {
			pngenc_put(&b, pngenc_lit[raw[i]].bits, pngenc_lit[raw[i]].n);
			i++;
		}
	}
	pngenc_put(&b, end.bits, end.n);
	pngenc_flush(&b);
	return b.out;
}

static unsigned char *
pngenc_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

/* Closes the chunk whose length field is at start: its length and its CRC (type and data). */
static unsigned char *
pngenc_chunk_end(unsigned char *start, unsigned char *end)
{
	size_t len = (size_t)(end - start) - 8;

	pngenc_be32(start, (uint32_t)len);
	return pngenc_be32(end, (uint32_t)crc32(0, start + 4, (uInt)(len + 4)));
}

void *
pngenc_encode(int w, int h, enum pngenc_kind kind, const unsigned char (*palette)[3], int npalette,
    unsigned char *const *rows, int *len)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char *png, *raw, *p, *chunk;
	size_t stride, rowlen, n, cap;

	*len = 0;
	pthread_once(&pngenc_once, pngenc_tables);
	if (w < 1 || h < 1 || w > PNGENC_MAX_SIDE || h > PNGENC_MAX_SIDE ||
	    (kind == PNGENC_PALETTE8 && (npalette < 1 || npalette > 256))) {
		log_err("png: cannot encode a %dx%d image", w, h);
		return NULL;
	}
	stride = kind == PNGENC_GRAY1 ? ((size_t)w + 7) / 8 : kind == PNGENC_RGB8 ? 3 * (size_t)w :
	    (size_t)w;
	rowlen = stride + 1;
	n = rowlen * (size_t)h;
	if (n > PNGENC_MAX_BYTES) {
		log_err("png: a %dx%d image is too large to encode", w, h);
		return NULL;
	}
	/* A literal takes 9 bits at most; nothing else takes more per byte it stands for. */
	cap = sizeof signature + 25 + 12 + 3 * 256 + 12 + 2 + n + n / 8 + 16 + 4 + 12;
	raw = malloc(n);
	png = malloc(cap);
	if (raw == NULL || png == NULL) {
		free(raw);
		free(png);
		log_err("png: out of memory for a %dx%d image", w, h);
		return NULL;
	}
	for (int y = 0; y < h; y++) {
		raw[(size_t)y * rowlen] = 0;	/* filter: none */
		memcpy(raw + (size_t)y * rowlen + 1, rows[y], stride);
	}

	memcpy(png, signature, sizeof signature);
	p = png + sizeof signature;
	chunk = p;
	memcpy(p + 4, "IHDR", 4);
	p = pngenc_be32(p + 8, (uint32_t)w);
	p = pngenc_be32(p, (uint32_t)h);
	*p++ = kind == PNGENC_GRAY1 ? 1 : 8;	/* bit depth */
	*p++ = kind == PNGENC_GRAY1 ? 0 : kind == PNGENC_RGB8 ? 2 : 3;	/* grey, RGB or palette */
	*p++ = 0;	/* deflate */
	*p++ = 0;	/* adaptive filtering, each row saying which */
	*p++ = 0;	/* not interlaced */
	p = pngenc_chunk_end(chunk, p);
	if (kind == PNGENC_PALETTE8) {
		chunk = p;
		memcpy(p + 4, "PLTE", 4);
		p += 8;
		for (int i = 0; i < npalette; i++) {
			memcpy(p, palette[i], 3);
			p += 3;
		}
		p = pngenc_chunk_end(chunk, p);
	}
	chunk = p;
	memcpy(p + 4, "IDAT", 4);
	p += 8;
	*p++ = 0x78;	/* zlib: deflate, 32 KiB window */
	*p++ = 0x01;	/* no dictionary, a check that makes the pair a multiple of 31 */
	p = pngenc_deflate(raw, n, rowlen, kind == PNGENC_RGB8 ? 3 : 1, p);
	p = pngenc_be32(p, (uint32_t)adler32(1, raw, (uInt)n));
	p = pngenc_chunk_end(chunk, p);
	chunk = p;
	memcpy(p + 4, "IEND", 4);
	p = pngenc_chunk_end(chunk, p + 8);
	free(raw);
	*len = (int)(p - png);
	return png;
}

void
pngenc_free(void *png)
{
	free(png);
}
