#include <zlib.h>

// deflateInit2/inflateInit2 are function-like macros (they pass ZLIB_VERSION and the
// struct size), which Swift does not import.
static inline int lab_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
static inline int lab_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
