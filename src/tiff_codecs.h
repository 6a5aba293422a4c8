/*
 * tiff_codecs.h — the TIFF compressions the sink can write, in one list.
 *
 * IIIFS_TIFF_CODECS(X) expands X(option, scheme, name, init, predictor) once
 * per compression:
 *   option     the iiifs_compression value that asks for it (iiifstitch.h)
 *   scheme     the TIFF Compression tag value written (tiff.h)
 *   name       libtiff's name for the codec, shown in its messages
 *   init       libtiff's init function for the codec
 *   predictor  the Predictor tag written with it (PREDICTOR_NONE: no tag)
 *
 * sink.c maps an option to its scheme and predictor from this list. The
 * static executable links boards/tiff_codecs.c, which hands libtiff exactly
 * these codecs instead of every codec the system's libtiff was built with,
 * so the others and their libraries stay out of it. Writing a new
 * compression is one line here (and its option in iiifstitch.h and main.c).
 * Only libtiff's built-in codecs fit: init names one of its functions.
 */
#ifndef IIIFS_TIFF_CODECS_H
#define IIIFS_TIFF_CODECS_H

#include <tiffio.h>

#define IIIFS_TIFF_CODECS(X)                                                           \
    X(IIIFS_COMPRESS_NONE, COMPRESSION_NONE, "None", TIFFInitDumpMode, PREDICTOR_NONE) \
    X(IIIFS_COMPRESS_DEFLATE, COMPRESSION_ADOBE_DEFLATE, "AdobeDeflate", TIFFInitZIP,  \
      PREDICTOR_HORIZONTAL)

#endif
