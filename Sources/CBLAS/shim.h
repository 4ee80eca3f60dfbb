// OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
#ifndef DUET_CBLAS_SHIM_H
#define DUET_CBLAS_SHIM_H
#include <cblas.h>
#endif
