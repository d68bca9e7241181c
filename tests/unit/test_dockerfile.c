/* Unit tests: the config.txt parser (src/build/dockerfile.c) — instructions,
 * continuations, comments, exec/shell forms, flags, word splitting with
 * quotes and $VAR substitution, and errors that name the line. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "src/build/build.h"

static hb_dockerfile_t
parse_ok (const char *text)
{
  husk_auto_error husk_error_t err = NULL;
  hb_dockerfile_t df = { 0 };
  int r = hb_dockerfile_parse (text, "config.txt", &df, &err);
  cr_assert_eq (r, 0, "parse failed: %s", err ? err->msg : "?");
  return df;
}

static char *
parse_err (const char *text)
{
  husk_auto_error husk_error_t err = NULL;
  hb_dockerfile_t df = { 0 };
  int r = hb_dockerfile_parse (text, "config.txt", &df, &err);
  cr_assert_lt (r, 0, "parse should fail: %s", text);
  cr_assert_not_null (err);
  return xstrdup (err->msg);
}

Test (dockerfile, all_instructions_with_lines)
{
  hb_dockerfile_t df = parse_ok ("# a comment\n"
                                 "ARG BASE=busybox\n"
                                 "FROM $BASE\n"
                                 "\n"
                                 "ENV A=1 B=\"two words\"\n"
                                 "env C 3 4\n"
                                 "RUN echo hi > /x\n"
                                 "RUN [\"/bin/echo\", \"exec\"]\n"
                                 "CMD [\"sh\"]\n"
                                 "EXPOSE 80 53/udp\n"
                                 "WORKDIR /app\n"
                                 "COPY --chown=1:2 a b /dst/\n"
                                 "ENTRYPOINT /bin/sh -c\n"
                                 "USER nobody\n"
                                 "LABEL org.x=y\n");
  hb_instr_kind_t kinds[] = { HB_INSTR_ARG,        HB_INSTR_FROM, HB_INSTR_ENV,    HB_INSTR_ENV,     HB_INSTR_RUN,
                              HB_INSTR_RUN,        HB_INSTR_CMD,  HB_INSTR_EXPOSE, HB_INSTR_WORKDIR, HB_INSTR_COPY,
                              HB_INSTR_ENTRYPOINT, HB_INSTR_USER, HB_INSTR_LABEL };
  int lines[] = { 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
  cr_assert_eq (df.len, 13);
  for (size_t i = 0; i < df.len; i++)
    {
      cr_assert_eq (df.instrs[i].kind, kinds[i], "instr %zu", i);
      cr_assert_eq (df.instrs[i].line, lines[i], "instr %zu line %d", i, df.instrs[i].line);
    }
  cr_assert_str_eq (df.instrs[3].keyword, "ENV");
  cr_assert_null (df.instrs[4].exec);
  cr_assert_str_eq (df.instrs[4].rest, "echo hi > /x");
  cr_assert_not_null (df.instrs[5].exec);
  cr_assert_str_eq (df.instrs[5].exec[0], "/bin/echo");
  cr_assert_str_eq (df.instrs[5].exec[1], "exec");
  cr_assert_null (df.instrs[5].exec[2]);
  cr_assert_str_eq (df.instrs[9].chown, "1:2");
  cr_assert_str_eq (df.instrs[9].rest, "a b /dst/");
  hb_dockerfile_clear (&df);
}

Test (dockerfile, continuation_and_comment_inside)
{
  hb_dockerfile_t df = parse_ok ("FROM scratch\n"
                                 "RUN echo a \\\n"
                                 "# dropped comment\n"
                                 "    && echo b \\\n"
                                 "\n"
                                 "    && echo c\n"
                                 "CMD x\n");
  cr_assert_eq (df.len, 3);
  cr_assert_eq (df.instrs[1].line, 2);
  cr_assert_eq (df.instrs[2].line, 7);
  cr_assert_str_eq (df.instrs[1].rest, "echo a && echo b && echo c");
  hb_dockerfile_clear (&df);
}

Test (dockerfile, crlf_and_trailing_continuation)
{
  hb_dockerfile_t df = parse_ok ("FROM scratch\r\nCMD a \\\r\n b");
  cr_assert_eq (df.len, 2);
  cr_assert_str_eq (df.instrs[1].rest, "a b");
  hb_dockerfile_clear (&df);
}

Test (dockerfile, unknown_instruction_names_the_line)
{
  husk_autofree char *m = parse_err ("FROM scratch\n\n# c\nENV A=1\nCMD x\n\nRUNN echo\n");
  cr_assert_str_eq (m, "config.txt:7: unknown instruction \"RUNN\"");
}

Test (dockerfile, shape_errors)
{
  struct
  {
    const char *text;
    const char *msg;
  } cases[] = {
    { "FROM\n", "config.txt:1: FROM requires at least one argument" },
    { "FROM a b\n", "config.txt:1: FROM requires exactly one image (FROM IMAGE [AS NAME])" },
    { "FROM a\nENV A\n", "config.txt:2: ENV must have two arguments (KEY VALUE or KEY=VALUE ...)" },
    { "FROM a\nENV A=1 B\n", "config.txt:2: ENV: `B` is not KEY=VALUE" },
    { "FROM a\nLABEL x\n", "config.txt:2: LABEL must have two arguments (KEY VALUE or KEY=VALUE ...)" },
    { "FROM a\nCOPY x\n", "config.txt:2: COPY requires at least two arguments (sources and destination)" },
    { "FROM a\nCOPY --from= x y\n", "config.txt:2: COPY: unsupported flag `--from=`" },
    { "FROM a\nEXPOSE 80/xyz\n", "config.txt:2: EXPOSE: invalid port `80/xyz`" },
    { "FROM a\nEXPOSE 70000\n", "config.txt:2: EXPOSE: invalid port `70000`" },
    { "FROM a\nENV A=\"open\n", "config.txt:2: unterminated quote in `A=\"open`" },
    { "RUN x\nFROM a\n", "config.txt:1: RUN before FROM (the first instruction must be FROM)" },
    { "FROM a AS 1st\nFROM b\n", "config.txt:1: invalid stage name `1st`" },
    { "FROM a AS one\nFROM b AS One\n", "config.txt:2: duplicate stage name `one`" },
    { "FROM a\nSHELL [\"sh\"]\n", "config.txt:2: instruction SHELL is not supported" },
    { "FROM a\nADD x\n", "config.txt:2: ADD requires at least two arguments (sources and destination)" },
    { "FROM a\nADD --from=b x y\n", "config.txt:2: ADD: unsupported flag `--from=b`" },
    { "FROM a\nSTOPSIGNAL\n", "config.txt:2: STOPSIGNAL requires at least one argument" },
    { "FROM a\nSTOPSIGNAL 1 2\n", "config.txt:2: STOPSIGNAL requires exactly one argument" },
    { "FROM a\nSTOPSIGNAL SIGNOPE\n", "config.txt:2: STOPSIGNAL: invalid signal `SIGNOPE`" },
    { "FROM a\nVOLUME []\n", "config.txt:2: VOLUME requires at least one argument" },
    { "ARG X\n", "config.txt: no FROM instruction" },
    { "FROM a\nARG 1X\n", "config.txt:2: ARG: invalid name in `1X`" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      husk_autofree char *m = parse_err (cases[i].text);
      cr_assert_str_eq (m, cases[i].msg, "case %zu", i);
    }
}

Test (dockerfile, stages)
{
  hb_dockerfile_t df = parse_ok ("FROM a AS Build\nRUN x\nFROM b\nCOPY --from=build --chown=1:2 /o /o\n");
  cr_assert_str_eq (hb_dockerfile_stage_name (&df.instrs[0]), "build");
  cr_assert_null (hb_dockerfile_stage_name (&df.instrs[1]));
  cr_assert_null (hb_dockerfile_stage_name (&df.instrs[2]));
  cr_assert_str_eq (df.instrs[3].from, "build");
  cr_assert_str_eq (df.instrs[3].chown, "1:2");
  cr_assert_str_eq (df.instrs[3].rest, "/o /o");
  hb_dockerfile_clear (&df);
}

Test (dockerfile, exec_form_vs_invalid_json)
{
  hb_dockerfile_t df = parse_ok ("FROM a\nCMD [\"a\", 1]\nENTRYPOINT [not json\nCMD []\n");
  cr_assert_null (df.instrs[1].exec);
  cr_assert_null (df.instrs[2].exec);
  cr_assert_not_null (df.instrs[3].exec);
  cr_assert_null (df.instrs[3].exec[0]);
  hb_dockerfile_clear (&df);
}

static char **
words (const char *s, char *const *env, bool one)
{
  husk_auto_error husk_error_t err = NULL;
  char **w = NULL;
  cr_assert_eq (hb_dockerfile_words (s, env, true, one, &w, NULL, &err), 0, "%s", err ? err->msg : "");
  return w;
}

Test (dockerfile, words_quotes_and_substitution)
{
  char *env[] = { "A=x", "B=two words", "EMPTY=", "A=y", NULL };
  husk_autostrv char **w1 = words ("$A ${A}z \"$B\" '$A' \\$A a\\ b", env, false);
  husk_autostrv char **w2 = words ("${NOPE:-dflt} ${A:-dflt} ${EMPTY:-e} ${A:+alt} ${NOPE:+alt}x", env, false);
  husk_autostrv char **w3 = words ("/srv/$A dir", env, true);
  husk_autostrv char **w4 = words ("K=\"\" L='a b' $ end$", env, false);
  const char *e1[] = { "y", "yz", "two words", "$A", "$A", "a b", NULL };
  const char *e2[] = { "dflt", "y", "e", "alt", "x", NULL };
  const char *e4[] = { "K=", "L=a b", "$", "end$", NULL };
  for (size_t i = 0; e1[i]; i++)
    cr_assert_str_eq (w1[i], e1[i]);
  cr_assert_null (w1[6]);
  for (size_t i = 0; e2[i]; i++)
    cr_assert_str_eq (w2[i], e2[i]);
  cr_assert_str_eq (w3[0], "/srv/y dir");
  cr_assert_null (w3[1]);
  for (size_t i = 0; e4[i]; i++)
    cr_assert_str_eq (w4[i], e4[i]);
}

Test (dockerfile, words_used_names)
{
  husk_auto_error husk_error_t err = NULL;
  husk_autostrv char **w = NULL;
  husk_autostrv char **used = NULL;
  cr_assert_eq (hb_dockerfile_words ("$X ${Y} $X", NULL, true, false, &w, &used, &err), 0);
  cr_assert_str_eq (used[0], "X");
  cr_assert_str_eq (used[1], "Y");
  cr_assert_null (used[2]);
  cr_assert_str_eq (w[0], "");
}

Test (dockerfile, bad_substitution)
{
  husk_auto_error husk_error_t err = NULL;
  char **w = NULL;
  cr_assert_lt (hb_dockerfile_words ("${A", NULL, true, false, &w, NULL, &err), 0);
  cr_assert_str_eq (err->msg, "missing `}` in `${A`");
}

Test (dockerfile, env_pairs_both_forms)
{
  hb_dockerfile_t df = parse_ok ("FROM a\nENV P=$X Q=\"1 2\"\nENV K value with  spaces $X\n");
  char *env[] = { "X=ex", NULL };
  husk_auto_error husk_error_t err = NULL;
  husk_autostrv char **k = NULL;
  husk_autostrv char **v = NULL;
  husk_autostrv char **k2 = NULL;
  husk_autostrv char **v2 = NULL;
  cr_assert_eq (hb_dockerfile_pairs (&df.instrs[1], env, &k, &v, &err), 2);
  cr_assert_str_eq (k[0], "P");
  cr_assert_str_eq (v[0], "ex");
  cr_assert_str_eq (k[1], "Q");
  cr_assert_str_eq (v[1], "1 2");
  cr_assert_eq (hb_dockerfile_pairs (&df.instrs[2], env, &k2, &v2, &err), 1);
  cr_assert_str_eq (k2[0], "K");
  cr_assert_str_eq (v2[0], "value with  spaces ex");
  hb_dockerfile_clear (&df);
}

Test (dockerfile, ports)
{
  cr_assert_eq (hb_dockerfile_check_port ("80", NULL), 0);
  cr_assert_eq (hb_dockerfile_check_port ("53/udp", NULL), 0);
  cr_assert_eq (hb_dockerfile_check_port ("1000-1010/tcp", NULL), 0);
  cr_assert_lt (hb_dockerfile_check_port ("0", NULL), 0);
  cr_assert_lt (hb_dockerfile_check_port ("x", NULL), 0);
  cr_assert_lt (hb_dockerfile_check_port ("10-5", NULL), 0);
}
