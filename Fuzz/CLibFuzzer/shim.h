// libFuzzer's driver, for an executable that brings its own `main` (SwiftPM names a
// Linux executable's entry point `<module>_main`); -sanitize=fuzzer links libFuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
