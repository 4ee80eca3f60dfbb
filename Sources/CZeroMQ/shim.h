// libzmq's C API (Debian: libzmq3-dev), built with CURVE security.
#ifndef DUET_CZEROMQ_SHIM_H
#define DUET_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
