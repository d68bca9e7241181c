/* Unit tests: the error convention, parsing helpers, signal names, id rules,
 * the state JSON (golden) and the generated default spec. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "husk/husk.h"
#include "internal.h"

Test (error, make_includes_strerror_and_returns_negative_errno)
{
  husk_auto_error husk_error_t err = NULL;
  int r = husk_error_make (&err, EPERM, "cannot mount `%s` on `%s`", "proc", "/proc");
  cr_assert_eq (r, -EPERM);
  cr_assert_str_eq (err->msg, "cannot mount `proc` on `/proc`: Operation not permitted");
  cr_assert_eq (err->status, EPERM);
}

Test (error, wrap_prefixes_context)
{
  husk_auto_error husk_error_t err = NULL;
  husk_error_make (&err, 0, "process.user.uid: expected an unsigned integer");
  cr_assert_eq (husk_error_wrap (&err, "create container `%s`", "web"), -1);
  cr_assert_str_eq (err->msg, "create container `web`: process.user.uid: expected an unsigned integer");
}

Test (error, move_and_release)
{
  husk_error_t a = NULL, b = NULL;
  husk_error_make (&a, ENOENT, "x");
  husk_error_move (&b, &a);
  cr_assert_null (a);
  cr_assert_str_eq (b->msg, "x: No such file or directory");
  husk_error_release (&b);
  cr_assert_null (b);
  husk_error_release (&b); /* twice is fine */
}

Test (parse, u64_edges)
{
  uint64_t v;
  cr_assert_eq (husk_parse_u64 ("18446744073709551615", &v), 0);
  cr_assert_eq (v, UINT64_MAX);
  cr_assert_eq (husk_parse_u64 ("18446744073709551616", &v), -1);
  cr_assert_eq (husk_parse_u64 ("-1", &v), -1);
  cr_assert_eq (husk_parse_u64 ("", &v), -1);
  cr_assert_eq (husk_parse_u64 ("12x", &v), -1);
  cr_assert_eq (husk_parse_u64 (" 1", &v), -1);
}

Test (parse, i64_edges)
{
  int64_t v;
  cr_assert_eq (husk_parse_i64 ("-9223372036854775808", &v), 0);
  cr_assert_eq (v, INT64_MIN);
  cr_assert_eq (husk_parse_i64 ("9223372036854775808", &v), -1);
  cr_assert_eq (husk_parse_i64 ("1.5", &v), -1);
}

Test (signals, names_numbers_and_case)
{
  cr_assert_eq (husk_signal_parse ("9"), SIGKILL);
  cr_assert_eq (husk_signal_parse ("KILL"), SIGKILL);
  cr_assert_eq (husk_signal_parse ("SIGKILL"), SIGKILL);
  cr_assert_eq (husk_signal_parse ("sigkill"), SIGKILL);
  cr_assert_eq (husk_signal_parse ("term"), SIGTERM);
  cr_assert_eq (husk_signal_parse ("SIGUSR1"), SIGUSR1);
  cr_assert_eq (husk_signal_parse ("RTMIN+1"), SIGRTMIN + 1);
  cr_assert_eq (husk_signal_parse ("SIGRTMAX-2"), SIGRTMAX - 2);
  cr_assert_eq (husk_signal_parse ("NOPE"), -1);
  cr_assert_eq (husk_signal_parse ("0"), -1);
  cr_assert_eq (husk_signal_parse ("65"), -1);
  cr_assert_eq (husk_signal_parse (""), -1);
  cr_assert_str_eq (husk_signal_name (SIGTERM), "SIGTERM");
}

Test (ids, runc_rules)
{
  const char *good[] = { "a", "web-1", "A_b.c+d", "0123456789", NULL };
  const char *bad[] = { "", ".", "..", "../x", "a/b", "a b", "x:y", "é", NULL };
  for (int i = 0; good[i]; i++)
    {
      husk_auto_error husk_error_t err = NULL;
      cr_assert_eq (husk_id_validate (good[i], &err), 0, "id `%s` should be valid", good[i]);
    }
  for (int i = 0; bad[i]; i++)
    {
      husk_auto_error husk_error_t err = NULL;
      cr_assert_lt (husk_id_validate (bad[i], &err), 0, "id `%s` should be refused", bad[i]);
      cr_assert_not_null (err);
    }
}

Test (state, json_matches_golden)
{
  husk_state_t st = {
    .id = "web", .pid = 4422, .bundle = "/b/web", .rootfs = "/b/web/rootfs", .created = "2026-08-19T10:00:00.123456789Z",
    .owner = "",
  };
  husk_autofree char *pretty = husk_state_json (&st, HUSK_STATUS_RUNNING, NULL, true);
  husk_autofree char *golden = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_eq (husk_read_file (HUSK_TEST_DATA "/state-running.json", &golden, NULL, &err), 0);
  cr_assert_str_eq (pretty, golden);
}

Test (state, stopped_has_pid_zero_and_compact_form)
{
  husk_state_t st = {
    .id = "web", .pid = 4422, .bundle = "/b/web", .rootfs = "/b/web/rootfs", .created = "2026-08-19T10:00:00Z",
  };
  husk_autofree char *json = husk_state_json (&st, HUSK_STATUS_STOPPED, NULL, false);
  cr_assert_str_eq (json, "{\"ociVersion\":\"1.3.0\",\"id\":\"web\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b/web\","
                          "\"rootfs\":\"/b/web/rootfs\",\"created\":\"2026-08-19T10:00:00Z\",\"owner\":\"\"}");
}

Test (state, annotations_appear_in_file_order)
{
  const char *cfg = "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"z\":\"1\",\"a\":\"2\"}}";
  husk_spec_t *spec = NULL;
  husk_auto_error husk_error_t err = NULL;
  husk_state_t st = { .id = "x", .pid = 1, .bundle = "/b", .rootfs = "/b/r", .created = "t" };
  husk_autofree char *json = NULL;
  cr_assert_eq (husk_spec_parse (cfg, strlen (cfg), &spec, &err), 0);
  json = husk_state_json (&st, HUSK_STATUS_CREATED, spec, false);
  cr_assert_not_null (strstr (json, "\"annotations\":{\"z\":\"1\",\"a\":\"2\"}"), "%s", json);
  husk_spec_free (spec);
}

Test (state, roundtrip_through_state_file_text)
{
  husk_state_t in = {
    .id = "c", .pid = 7, .start_time = 123456789, .bundle = "/b", .rootfs = "/b/r", .created = "t", .owner = "",
    .cgroup = "x\ty\n", .own_pidns = true, .started = true, .host_mounts = true,
  };
  husk_state_t out = { 0 };
  husk_container_t c = { .state = in };
  husk_autofree char *dir = xstrdup ("/tmp/husk-unit-state.XXXXXX");
  husk_autofree char *json = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_not_null (mkdtemp (dir));
  c.dir = dir;
  cr_assert_eq (husk_state_write (&c, &err), 0);
  {
    husk_autofree char *p = xstrdup_printf ("%s/state.json", dir);
    cr_assert_eq (husk_read_file (p, &json, NULL, &err), 0);
    unlink (p);
  }
  rmdir (dir);
  cr_assert_eq (husk_state_parse (json, &out, &err), 0);
  cr_assert_str_eq (out.id, "c");
  cr_assert_eq (out.pid, 7);
  cr_assert_eq (out.start_time, 123456789);
  cr_assert_str_eq (out.cgroup, "x\ty\n");
  cr_assert (out.own_pidns && out.started && out.host_mounts);
  husk_state_clear (&out);
}

Test (proc, start_time_is_field_22)
{
  uint64_t t = 0;
  husk_autofree char *stat = NULL;
  husk_auto_error husk_error_t err = NULL;
  char *p;
  unsigned long long expect;
  cr_assert_eq (husk_proc_start_time (getpid (), &t, &err), 0);
  cr_assert_eq (husk_read_file ("/proc/self/stat", &stat, NULL, &err), 0);
  p = strrchr (stat, ')') + 2; /* field 3 */
  for (int f = 3; f < 22; f++)
    p = strchr (p, ' ') + 1;
  expect = strtoull (p, NULL, 10);
  cr_assert_eq (t, expect);
  cr_assert (husk_pid_alive (getpid (), t));
  cr_assert_not (husk_pid_alive (getpid (), t + 1), "a different start time means pid reuse");
}

Test (files, atomic_write_replaces_and_leaves_no_temp)
{
  husk_autofree char *dir = xstrdup ("/tmp/husk-unit-files.XXXXXX");
  husk_autofree char *path = NULL, *back = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_not_null (mkdtemp (dir));
  path = xstrdup_printf ("%s/pid", dir);
  cr_assert_eq (husk_write_file_atomic (path, "123", 3, 0644, &err), 0);
  cr_assert_eq (husk_write_file_atomic (path, "45", 2, 0644, &err), 0);
  cr_assert_eq (husk_read_file (path, &back, NULL, &err), 0);
  cr_assert_str_eq (back, "45");
  cr_assert_eq (husk_rm_rf (dir, &err), 0);
  cr_assert_neq (access (dir, F_OK), 0);
}

Test (spec, default_spec_parses_and_is_runc_like)
{
  husk_autofree char *json = husk_spec_default_json (false);
  husk_spec_t *spec = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_eq (husk_spec_parse (json, strlen (json), &spec, &err), 0, "%s", err ? err->msg : "");
  cr_assert_str_eq (spec->process->args[0], "sh");
  cr_assert (spec->process->terminal);
  cr_assert_not_null (husk_spec_find_namespace (spec, HUSK_NS_NETWORK));
  cr_assert_null (husk_spec_find_namespace (spec, HUSK_NS_USER));
  husk_spec_free (spec);
  {
    husk_autofree char *rl = husk_spec_default_json (true);
    cr_assert_eq (husk_spec_parse (rl, strlen (rl), &spec, &err), 0, "%s", err ? err->msg : "");
    cr_assert_not_null (husk_spec_find_namespace (spec, HUSK_NS_USER));
    cr_assert_eq (spec->linux_->uid_mappings_len, 1);
    cr_assert_eq (spec->linux_->uid_mappings[0].host_id, getuid ());
    husk_spec_free (spec);
  }
}

Test (features, valid_json_with_the_expected_keys)
{
  husk_autofree char *json = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_eq (husk_features_json (&json, &err), 0);
  cr_assert_not_null (strstr (json, "\"ociVersionMin\": \"1.0.0\""));
  cr_assert_not_null (strstr (json, "\"ociVersionMax\": \"1.3.0\""));
  cr_assert_not_null (strstr (json, "\"CAP_SYS_ADMIN\""));
  cr_assert_not_null (strstr (json, "\"SCMP_ACT_NOTIFY\""));
  cr_assert_not_null (strstr (json, "\"startContainer\""));
}
