/* Write-behind of the output file (src/writeback.c): data written and kicked stays intact and
 * the thread stops cleanly; a flush that fails is reported by destroy, naming the file; a
 * file that cannot be opened is refused at create. Whether the bytes reached the disk early is
 * a performance property, measured by bench/scaling.sh, not tested here. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/writeback.h"

static char dir[] = "/tmp/gds_test_writeback_XXXXXX";

static int setup(void **st) {
  (void)st;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st) {
  (void)st;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes interleaved with kicks (more kicks than flushes can keep up with): every byte is
 * still there, destroy succeeds, and destroy of NULL is a no-op. */
static void test_kicks(void **st) {
  (void)st;
  char path[128];
  snprintf(path, sizeof path, "%s/data.bin", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  gds_writeback *wb = NULL;
  assert_int_equal(gds_writeback_create(path, &wb), GDS_SUCCESS);
  assert_non_null(wb);
  static unsigned char block[1 << 16];
  for (int k = 0; k < 64; k++) {
    memset(block, k, sizeof block);
    assert_int_equal(fwrite(block, 1, sizeof block, f), sizeof block);
    assert_int_equal(fflush(f), 0);
    gds_writeback_kick(wb);
  }
  assert_int_equal(gds_writeback_destroy(&wb), GDS_SUCCESS);
  assert_null(wb);
  assert_int_equal(gds_writeback_destroy(&wb), GDS_SUCCESS);
  gds_writeback_kick(NULL);
  assert_int_equal(fclose(f), 0);
  f = fopen(path, "rb");
  assert_non_null(f);
  for (int k = 0; k < 64; k++) {
    assert_int_equal(fread(block, 1, sizeof block, f), sizeof block);
    for (size_t i = 0; i < sizeof block; i++)
      if (block[i] != (unsigned char)k) fail_msg("byte %zu of block %d is %d", i, k, block[i]);
  }
  fclose(f);
}

/* A FIFO opens read-write but cannot be synchronised (fdatasync: EINVAL): the failure of the
 * flush asked for by the last kick comes back from destroy as a runtime error. Without a kick
 * no flush is tried, so there is nothing to report. */
static void test_flush_failure(void **st) {
  (void)st;
  char path[128];
  snprintf(path, sizeof path, "%s/fifo", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  gds_writeback *wb = NULL;
  assert_int_equal(gds_writeback_create(path, &wb), GDS_SUCCESS);
  assert_int_equal(gds_writeback_destroy(&wb), GDS_SUCCESS);
  assert_int_equal(gds_writeback_create(path, &wb), GDS_SUCCESS);
  gds_writeback_kick(wb);
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_writeback_destroy(&wb), GDS_ERR_RUNTIME);
  gds_error_set_quiet(old);
  assert_null(wb);
}

static void test_missing_file(void **st) {
  (void)st;
  char path[128];
  snprintf(path, sizeof path, "%s/no/such/file.h5", dir);
  gds_writeback *wb = (gds_writeback *)&wb; /* must be reset */
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_writeback_create(path, &wb), GDS_ERR_RUNTIME);
  gds_error_set_quiet(old);
  assert_null(wb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kicks),
      cmocka_unit_test(test_flush_failure),
      cmocka_unit_test(test_missing_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
