/* deny_stubs.c — linked into every C component by `cargo xtask build-c`.
 *
 * wasi-libc's stdio (`snprintf` included: it shares the FILE machinery with `printf`) references the WASI
 * preview 1 functions below. Left unresolved they become core-module imports from
 * `wasi_snapshot_preview1`, and the component cannot be made (the host links no WASI at all). Defining them
 * here resolves them inside the module: any attempt at real I/O fails with ENOSYS, while formatting into a
 * buffer works. Anything else from WASI (clocks, randomness, files) stays unresolved and fails the build —
 * on purpose: a capability has no ambient I/O, and a build error says so earlier than a run would.
 *
 * Unused stubs are dropped by the linker, so a component that never touches stdio carries none of this.
 */
#include <stdint.h>

#define WASI_ENOSYS 52

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten) {
  (void)fd, (void)iovs, (void)iovs_len, (void)nwritten;
  return WASI_ENOSYS;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset) {
  (void)fd, (void)offset, (void)whence, (void)newoffset;
  return WASI_ENOSYS;
}

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd) {
  (void)fd;
  return WASI_ENOSYS;
}
