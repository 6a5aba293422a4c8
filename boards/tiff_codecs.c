/*
 * tiff_codecs.c — libtiff's table of built-in codecs, cut down to the ones
 * the sink writes and the static build carries (IIIFS_TIFF_CODECS in
 * src/sink.h, last column 1). Linked into the static executable
 * only (STATIC=1), ahead of libtiff.a; not part of libiiifstitch.a, which
 * is why these names keep libtiff's spelling instead of the iiifs_ prefix.
 *
 * Why: libtiff's tif_codec.o defines the table _TIFFBuiltinCODECS, which
 * names the init function of every codec the library was configured with
 * (Debian's: JPEG, OJPEG, JBIG, LZMA, ZSTD, WebP, LERC, CCITT, LZW,
 * PixarLog, ...). Any TIFF write needs that object (TIFFSetField finds
 * codecs through it), so a static link takes every codec and the libraries
 * behind them: more than half of the executable. An object named on the
 * link line is always linked, and the linker takes an archive member only
 * for a symbol still undefined: with tif_codec.o's two exported symbols
 * defined here, it never takes tif_codec.o, nor the codecs only that table
 * names.
 *
 * The names and the table's shape are libtiff's internals (tiffiop.h and
 * tif_codec.c of libtiff 4.x), not its API: a libtiff that changed them
 * would fail this link with a duplicate or missing symbol, never silently.
 *
 * What the executable loses: nothing it uses. A compression not in the
 * table is unknown to libtiff (TIFFIsCODECConfigured says 0 and setting it
 * leaves libtiff's "not implemented" methods), and the tool never reads a
 * TIFF.
 */
#include "iiifstitch.h"
#include "sink.h"

#include <stddef.h>
#include <tiffio.h>

/* libtiff's init functions, declared in its private tiffiop.h */
#define IIIFS_CODEC_DECLARE(NAME, CODE, OPT, PRED, LIBNAME, INIT, STATIC) \
    int INIT(TIFF *, int);
IIIFS_TIFF_CODECS(IIIFS_CODEC_DECLARE)
#undef IIIFS_CODEC_DECLARE

/* libtiff's tif_compress.c walks this up to the entry with no name */
extern TIFFCodec _TIFFBuiltinCODECS[];
/* an entry for each codec the static build carries (last column 1) */
#define IIIFS_KEEP_1(...) __VA_ARGS__
#define IIIFS_KEEP_0(...)
#define IIIFS_CODEC_ENTRY(NAME, CODE, OPT, PRED, LIBNAME, INIT, STATIC) \
    IIIFS_KEEP_##STATIC({ LIBNAME, CODE, INIT },)
TIFFCodec _TIFFBuiltinCODECS[] = {
    IIIFS_TIFF_CODECS(IIIFS_CODEC_ENTRY)
    {NULL, 0, NULL},
};
#undef IIIFS_CODEC_ENTRY

/* tif_codec.o's other definition: every codec this table holds is built in,
 * and one added with TIFFRegisterCODEC is configured when it has an init. */
int TIFFIsCODECConfigured(uint16_t scheme)
{
    const TIFFCodec *codec = TIFFFindCODEC(scheme);
    return codec != NULL && codec->init != NULL;
}

/*
 * tif_read.o (which every write needs) calls this function of tif_jpeg.o
 * when it reads a JPEG-compressed strip by scanlines; that reference alone
 * would bring in libtiff's JPEG codec and libjpeg's encoder. The tool never
 * reads a TIFF, and without the JPEG codec such a strip cannot be decoded
 * anyway. Weak: if JPEG joins the list above, tif_jpeg.o comes in for its
 * init function and its own definition replaces this one.
 */
__attribute__((weak)) int TIFFJPEGIsFullStripRequired(TIFF *tif)
{
    (void)tif;
    return 0;
}
