/* husk-build: the config.txt (Dockerfile) parser.
 *
 * hb_dockerfile_parse() turns the text into instructions: comments (`#` as
 * the first non-blank character) and blank lines are skipped, a `\` at the
 * end of a line continues the instruction on the next one (comment lines
 * inside a continuation are dropped, as docker does), the keyword is
 * case-insensitive.  Each instruction keeps its raw arguments (`rest`); the
 * words are made at build time by hb_dockerfile_words(), because $VAR
 * substitution depends on the ARG and ENV values of the steps before it.
 * The parse checks the shape of every instruction so that a mistake is
 * reported with its line before anything runs. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "husk/husk.h"
#include "build.h"

static const struct
{
  const char *name;
  hb_instr_kind_t kind;
} keywords[] = {
  { "FROM", HB_INSTR_FROM },     { "ENV", HB_INSTR_ENV },
  { "RUN", HB_INSTR_RUN },       { "CMD", HB_INSTR_CMD },
  { "EXPOSE", HB_INSTR_EXPOSE }, { "WORKDIR", HB_INSTR_WORKDIR },
  { "COPY", HB_INSTR_COPY },     { "ENTRYPOINT", HB_INSTR_ENTRYPOINT },
  { "USER", HB_INSTR_USER },     { "LABEL", HB_INSTR_LABEL },
  { "ARG", HB_INSTR_ARG },       { "VOLUME", HB_INSTR_VOLUME },
  { "STOPSIGNAL", HB_INSTR_STOPSIGNAL }, { "MAINTAINER", HB_INSTR_MAINTAINER },
  { "ADD", HB_INSTR_ADD },
};

/* Instructions docker knows that this builder does not implement. */
static const char *const unsupported[]
    = { "HEALTHCHECK", "ONBUILD", "SHELL", NULL };

/* ---- words ------------------------------------------------------------- */

typedef struct
{
  char *buf;
  size_t len, cap;
} sbuf_t;

static void
sb_add (sbuf_t *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->buf = xrealloc (b->buf, b->cap);
    }
  memcpy (b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

static void
sb_addc (sbuf_t *b, char c)
{
  sb_add (b, &c, 1);
}

static char *
sb_take (sbuf_t *b)
{
  char *r = b->buf ? b->buf : xstrdup ("");
  b->buf = NULL;
  b->len = b->cap = 0;
  return r;
}

static void
strv_push (char ***v, size_t *n, char *s)
{
  *v = xrealloc (*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

static const char *
env_lookup (char *const *env, const char *name, size_t n)
{
  const char *found = NULL;
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      found = env[i] + n + 1; /* the last definition wins */
  return found;
}

typedef struct
{
  char *const *env;
  bool expand;
  char **used;
  size_t n_used;
} lex_t;

static void
note_used (lex_t *l, const char *name, size_t n)
{
  for (size_t i = 0; i < l->n_used; i++)
    if (strlen (l->used[i]) == n && strncmp (l->used[i], name, n) == 0)
      return;
  strv_push (&l->used, &l->n_used, xstrndup (name, n));
}

static int expand_text (lex_t *l, const char *s, size_t n, sbuf_t *out, husk_error_t *err);

/* At *p == '$': append the expansion to out and advance *p. */
static int
expand_var (lex_t *l, const char **p, const char *end, sbuf_t *out, husk_error_t *err)
{
  const char *s = *p + 1;
  if (s < end && *s == '{')
    {
      const char *name = s + 1, *q = name, *close;
      size_t depth = 1;
      while (q < end && (isalnum ((unsigned char) *q) || *q == '_'))
        q++;
      if (q == name)
        return husk_error_make (err, 0, "bad substitution `%.*s`", (int) (end - *p), *p);
      for (close = q; close < end; close++)
        {
          if (*close == '{')
            depth++;
          else if (*close == '}' && --depth == 0)
            break;
        }
      if (close >= end)
        return husk_error_make (err, 0, "missing `}` in `%.*s`", (int) (end - *p), *p);
      {
        const char *val = env_lookup (l->env, name, (size_t) (q - name));
        note_used (l, name, (size_t) (q - name));
        if (q == close)
          {
            if (val)
              sb_add (out, val, strlen (val));
          }
        else if (close - q >= 2 && q[0] == ':' && (q[1] == '-' || q[1] == '+'))
          {
            bool use_word = q[1] == '-' ? (val == NULL || *val == '\0') : (val != NULL && *val != '\0');
            if (use_word)
              {
                if (expand_text (l, q + 2, (size_t) (close - q - 2), out, err) < 0)
                  return -1;
              }
            else if (q[1] == '-')
              sb_add (out, val, strlen (val));
          }
        else
          return husk_error_make (err, 0, "unsupported modifier in `%.*s`", (int) (close + 1 - *p), *p);
      }
      *p = close + 1;
      return 0;
    }
  if (s < end && (isalpha ((unsigned char) *s) || *s == '_'))
    {
      const char *q = s;
      const char *val;
      while (q < end && (isalnum ((unsigned char) *q) || *q == '_'))
        q++;
      val = env_lookup (l->env, s, (size_t) (q - s));
      note_used (l, s, (size_t) (q - s));
      if (val)
        sb_add (out, val, strlen (val));
      *p = q;
      return 0;
    }
  sb_addc (out, '$'); /* a lone `$` stays */
  *p = s;
  return 0;
}

/* Expand the variables of a ${VAR:-word} word (quotes are kept as text). */
static int
expand_text (lex_t *l, const char *s, size_t n, sbuf_t *out, husk_error_t *err)
{
  const char *p = s, *end = s + n;
  while (p < end)
    {
      if (*p == '\\' && p + 1 < end)
        {
          sb_addc (out, p[1]);
          p += 2;
        }
      else if (*p == '$')
        {
          if (expand_var (l, &p, end, out, err) < 0)
            return -1;
        }
      else
        sb_addc (out, *p++);
    }
  return 0;
}

int
hb_dockerfile_words (const char *s, char *const *env, bool expand, bool one_word, char ***words, char ***used,
                     husk_error_t *err)
{
  lex_t l = { .env = env, .expand = expand };
  husk_autostrv char **v = NULL;
  size_t n = 0;
  sbuf_t cur = { 0 };
  bool in_word = false;
  char quote = 0;
  const char *p = s, *end = s + strlen (s);

  while (p < end)
    {
      char c = *p;
      if (quote == '\'')
        {
          if (c == '\'')
            quote = 0;
          else
            sb_addc (&cur, c);
          p++;
          continue;
        }
      if (c == '\\' && p + 1 < end)
        {
          char nx = p[1];
          if (quote == '"' && nx != '"' && nx != '\\' && nx != '$')
            sb_addc (&cur, '\\');
          sb_addc (&cur, nx);
          in_word = true;
          p += 2;
          continue;
        }
      if (c == '$' && expand)
        {
          if (expand_var (&l, &p, end, &cur, err) < 0)
            {
              free (cur.buf);
              husk_strv_free (l.used);
              return -1;
            }
          in_word = true;
          continue;
        }
      if (quote == '"')
        {
          if (c == '"')
            quote = 0;
          else
            sb_addc (&cur, c);
          p++;
          continue;
        }
      if (c == '\'' || c == '"')
        {
          quote = c;
          in_word = true;
          p++;
          continue;
        }
      if (!one_word && isspace ((unsigned char) c))
        {
          if (in_word)
            strv_push (&v, &n, sb_take (&cur));
          in_word = false;
          p++;
          continue;
        }
      sb_addc (&cur, c);
      in_word = true;
      p++;
    }
  if (quote)
    {
      free (cur.buf);
      husk_strv_free (l.used);
      return husk_error_make (err, 0, "unterminated quote in `%s`", s);
    }
  if (in_word || (one_word && n == 0))
    strv_push (&v, &n, sb_take (&cur));
  if (v == NULL)
    v = xmalloc0 (sizeof *v);
  *words = steal_ptr (&v);
  if (used)
    *used = l.used ? l.used : xmalloc0 (sizeof (char *));
  else
    husk_strv_free (l.used);
  return 0;
}

/* ---- parsing ----------------------------------------------------------- */

static int line_error (husk_error_t *err, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
line_error (husk_error_t *err, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  husk_autofree char *msg = NULL;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return husk_error_make (err, 0, "%s:%d: %s", file, line, msg);
}

static char *
trim (const char *s, size_t n)
{
  while (n > 0 && isspace ((unsigned char) *s))
    s++, n--;
  while (n > 0 && isspace ((unsigned char) s[n - 1]))
    n--;
  return xstrndup (s, n);
}

/* A JSON array of strings, or NULL when s is not one (then: shell form). */
static char **
parse_exec_form (const char *s)
{
  char ebuf[256];
  yajl_val v;
  char **out;
  if (*s != '[')
    return NULL;
  v = yajl_tree_parse (s, ebuf, sizeof ebuf);
  if (v == NULL || !YAJL_IS_ARRAY (v))
    {
      yajl_tree_free (v);
      return NULL;
    }
  out = xmalloc0 ((v->u.array.len + 1) * sizeof *out);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      if (!YAJL_IS_STRING (v->u.array.values[i]))
        {
          husk_strv_free (out);
          yajl_tree_free (v);
          return NULL;
        }
      out[i] = xstrdup (YAJL_GET_STRING (v->u.array.values[i]));
    }
  yajl_tree_free (v);
  return out;
}

static bool
valid_name (const char *s, size_t n)
{
  if (n == 0 || !(isalpha ((unsigned char) s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum ((unsigned char) s[i]) || s[i] == '_'))
      return false;
  return true;
}

/* Check the shape of one instruction (words without substitution). */
static int
check_instr (hb_instr_t *in, const char *file, husk_error_t *err)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autostrv char **w = NULL;
  size_t n;
  bool one = in->kind == HB_INSTR_WORKDIR || in->kind == HB_INSTR_USER || in->kind == HB_INSTR_MAINTAINER;

  if (*in->rest == '\0' && in->kind != HB_INSTR_CMD && in->kind != HB_INSTR_ENTRYPOINT)
    return line_error (err, file, in->line, "%s requires at least one argument", in->keyword);
  switch (in->kind)
    {
    case HB_INSTR_RUN:
    case HB_INSTR_CMD:
    case HB_INSTR_ENTRYPOINT:
      in->exec = parse_exec_form (in->rest);
      return 0;
    case HB_INSTR_VOLUME:
      in->exec = parse_exec_form (in->rest);
      if (in->exec && husk_strv_len (in->exec) == 0)
        return line_error (err, file, in->line, "VOLUME requires at least one argument");
      if (in->exec)
        return 0;
      break;
    case HB_INSTR_COPY:
    case HB_INSTR_ADD:
      in->exec = parse_exec_form (in->rest);
      if (in->exec)
        {
          if (husk_strv_len (in->exec) < 2)
            return line_error (err, file, in->line, "%s requires at least two arguments (sources and destination)",
                               in->keyword);
          return 0;
        }
      break;
    default:
      break;
    }
  if (hb_dockerfile_words (in->rest, NULL, false, one, &w, NULL, &e2) < 0)
    return line_error (err, file, in->line, "%s", e2->msg);
  n = husk_strv_len (w);
  switch (in->kind)
    {
    case HB_INSTR_FROM:
      if (n == 3 && strcasecmp (w[1], "AS") == 0)
        return 0;
      if (n != 1)
        return line_error (err, file, in->line, "FROM requires exactly one image (FROM IMAGE [AS NAME])");
      return 0;
    case HB_INSTR_COPY:
    case HB_INSTR_ADD:
      if (n < 2)
        return line_error (err, file, in->line, "%s requires at least two arguments (sources and destination)",
                           in->keyword);
      return 0;
    case HB_INSTR_ENV:
    case HB_INSTR_LABEL:
      if (strchr (w[0], '=') == NULL)
        {
          if (in->kind == HB_INSTR_LABEL || n < 2)
            return line_error (err, file, in->line, "%s must have two arguments (KEY VALUE or KEY=VALUE ...)",
                               in->keyword);
          if (!valid_name (w[0], strlen (w[0])))
            return line_error (err, file, in->line, "invalid name `%s`", w[0]);
          return 0;
        }
      for (size_t i = 0; i < n; i++)
        {
          const char *eq = strchr (w[i], '=');
          if (eq == NULL)
            return line_error (err, file, in->line, "%s: `%s` is not KEY=VALUE", in->keyword, w[i]);
          if (eq == w[i] || (in->kind == HB_INSTR_ENV && !valid_name (w[i], (size_t) (eq - w[i]))))
            return line_error (err, file, in->line, "%s: invalid name in `%s`", in->keyword, w[i]);
        }
      return 0;
    case HB_INSTR_ARG:
      {
        const char *eq = strchr (w[0], '=');
        if (n != 1)
          return line_error (err, file, in->line, "ARG requires exactly one argument (NAME[=DEFAULT])");
        if (!valid_name (w[0], eq ? (size_t) (eq - w[0]) : strlen (w[0])))
          return line_error (err, file, in->line, "ARG: invalid name in `%s`", w[0]);
        return 0;
      }
    case HB_INSTR_STOPSIGNAL:
      if (n != 1)
        return line_error (err, file, in->line, "STOPSIGNAL requires exactly one argument");
      if (strchr (w[0], '$') == NULL && husk_signal_parse (w[0]) <= 0)
        return line_error (err, file, in->line, "STOPSIGNAL: invalid signal `%s`", w[0]);
      return 0;
    case HB_INSTR_EXPOSE:
      for (size_t i = 0; i < n; i++)
        if (strchr (w[i], '$') == NULL && hb_dockerfile_check_port (w[i], NULL) < 0)
          return line_error (err, file, in->line, "EXPOSE: invalid port `%s`", w[i]);
      return 0;
    default:
      return 0;
    }
}

int
hb_dockerfile_check_port (const char *s, husk_error_t *err)
{
  const char *slash = strchr (s, '/');
  size_t n = slash ? (size_t) (slash - s) : strlen (s);
  unsigned long lo, hi;
  char *end;
  husk_autofree char *num = xstrndup (s, n);
  if (slash && strcmp (slash + 1, "tcp") != 0 && strcmp (slash + 1, "udp") != 0 && strcmp (slash + 1, "sctp") != 0)
    return husk_error_make (err, 0, "invalid port protocol in `%s`", s);
  if (!isdigit ((unsigned char) *num))
    return husk_error_make (err, 0, "invalid port `%s`", s);
  lo = strtoul (num, &end, 10);
  hi = lo;
  if (*end == '-' && isdigit ((unsigned char) end[1]))
    hi = strtoul (end + 1, &end, 10);
  if (*end || lo == 0 || lo > 65535 || hi < lo || hi > 65535)
    return husk_error_make (err, 0, "invalid port `%s`", s);
  return 0;
}

/* Take the leading --flags off an instruction's arguments. */
static int
take_flags (hb_instr_t *in, const char *file, husk_error_t *err)
{
  char *p = in->rest;
  while (strncmp (p, "--", 2) == 0)
    {
      size_t n = strcspn (p, " \t");
      husk_autofree char *flag = xstrndup (p, n);
      if ((in->kind == HB_INSTR_COPY || in->kind == HB_INSTR_ADD) && strncmp (flag, "--chown=", 8) == 0 && flag[8])
        {
          free (in->chown);
          in->chown = xstrdup (flag + 8);
        }
      else if (in->kind == HB_INSTR_COPY && strncmp (flag, "--from=", 7) == 0 && flag[7])
        {
          free (in->from);
          in->from = xstrdup (flag + 7);
        }
      else
        return line_error (err, file, in->line, "%s: unsupported flag `%s`", in->keyword, flag);
      p += n;
      p += strspn (p, " \t");
    }
  if (p != in->rest)
    memmove (in->rest, p, strlen (p) + 1);
  return 0;
}

static int
add_instr (hb_dockerfile_t *df, const char *file, int line, const char *text, husk_error_t *err)
{
  hb_instr_t in = { .line = line };
  size_t kwlen = strcspn (text, " \t");
  bool found = false;

  in.keyword = xstrndup (text, kwlen);
  for (char *c = in.keyword; *c; c++)
    *c = (char) toupper ((unsigned char) *c);
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (strcmp (in.keyword, keywords[i].name) == 0)
      {
        in.kind = keywords[i].kind;
        found = true;
      }
  if (!found)
    {
      int r;
      bool known = false;
      for (size_t i = 0; unsupported[i]; i++)
        known |= strcmp (in.keyword, unsupported[i]) == 0;
      if (known)
        r = line_error (err, file, line, "instruction %s is not supported", in.keyword);
      else
        {
          husk_autofree char *orig = xstrndup (text, kwlen);
          r = line_error (err, file, line, "unknown instruction \"%s\"", orig);
        }
      free (in.keyword);
      return r;
    }
  in.text = xstrdup (text);
  in.rest = trim (text + kwlen, strlen (text + kwlen));
  df->instrs = xrealloc (df->instrs, (df->len + 1) * sizeof *df->instrs);
  df->instrs[df->len++] = in;
  if (take_flags (&df->instrs[df->len - 1], file, err) < 0)
    return -1;
  return check_instr (&df->instrs[df->len - 1], file, err);
}

/* The stage name of a `FROM IMAGE AS NAME` (lower-cased in place), or NULL. */
const char *
hb_dockerfile_stage_name (const hb_instr_t *in)
{
  char *as = in->kind == HB_INSTR_FROM ? strrchr (in->rest, ' ') : NULL;
  if (as == NULL || as - in->rest < 4 || strncasecmp (as - 3, " AS", 3) != 0)
    return NULL;
  for (char *c = as + 1; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  return as + 1;
}

/* Whole-file rules: FROM first (after ARGs); stage names are unique and
 * look like docker's ([a-z][a-z0-9_.-]*, not a number); COPY --from of a
 * stage name refers to an earlier stage. */
static int
check_order (const hb_dockerfile_t *df, const char *file, husk_error_t *err)
{
  bool from = false;
  for (size_t i = 0; i < df->len; i++)
    {
      const hb_instr_t *in = &df->instrs[i];
      if (in->kind == HB_INSTR_FROM)
        {
          const char *name = hb_dockerfile_stage_name (in);
          from = true;
          if (name == NULL)
            continue;
          if (!islower ((unsigned char) name[0]) || name[strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789_.-")])
            return line_error (err, file, in->line, "invalid stage name `%s`", name);
          for (size_t j = 0; j < i; j++)
            if (df->instrs[j].kind == HB_INSTR_FROM && hb_dockerfile_stage_name (&df->instrs[j])
                && strcmp (hb_dockerfile_stage_name (&df->instrs[j]), name) == 0)
              return line_error (err, file, in->line, "duplicate stage name `%s`", name);
        }
      else if (!from && in->kind != HB_INSTR_ARG)
        return line_error (err, file, in->line, "%s before FROM (the first instruction must be FROM)", in->keyword);
    }
  if (!from)
    return husk_error_make (err, 0, "%s: no FROM instruction", file);
  return 0;
}

int
hb_dockerfile_parse (const char *text, const char *filename, hb_dockerfile_t *out, husk_error_t *err)
{
  hb_dockerfile_t df = { 0 };
  sbuf_t cur = { 0 };
  int start_line = 0, lineno = 0;
  const char *p = text;

  while (*p)
    {
      const char *nl = strchrnul (p, '\n');
      size_t n = (size_t) (nl - p);
      const char *s = p;
      size_t sn = n;
      bool cont;

      lineno++;
      p = *nl ? nl + 1 : nl;
      if (sn > 0 && s[sn - 1] == '\r')
        sn--;
      while (sn > 0 && isblank ((unsigned char) *s))
        s++, sn--;
      if (sn == 0 || *s == '#')
        {
          /* Blank or comment lines: skipped, also inside a continuation. */
          continue;
        }
      while (sn > 0 && isblank ((unsigned char) s[sn - 1]))
        sn--;
      cont = sn > 0 && s[sn - 1] == '\\';
      if (cont)
        {
          sn--;
          while (sn > 0 && isblank ((unsigned char) s[sn - 1]))
            sn--;
        }
      if (cur.len == 0)
        start_line = lineno;
      sb_add (&cur, s, sn);
      if (cont)
        {
          sb_addc (&cur, ' ');
          continue;
        }
      {
        husk_autofree char *line = sb_take (&cur);
        husk_autofree char *t = trim (line, strlen (line));
        if (add_instr (&df, filename, start_line, t, err) < 0)
          {
            hb_dockerfile_clear (&df);
            return -1;
          }
      }
    }
  if (cur.len > 0)
    {
      husk_autofree char *line = sb_take (&cur);
      husk_autofree char *t = trim (line, strlen (line));
      if (*t && add_instr (&df, filename, start_line, t, err) < 0)
        {
          hb_dockerfile_clear (&df);
          return -1;
        }
    }
  if (check_order (&df, filename, err) < 0)
    {
      hb_dockerfile_clear (&df);
      return -1;
    }
  *out = df;
  return 0;
}

void
hb_dockerfile_clear (hb_dockerfile_t *df)
{
  for (size_t i = 0; i < df->len; i++)
    {
      hb_instr_t *in = &df->instrs[i];
      free (in->keyword);
      free (in->text);
      free (in->rest);
      free (in->chown);
      free (in->from);
      husk_strv_free (in->exec);
    }
  free (df->instrs);
  df->instrs = NULL;
  df->len = 0;
}

int
hb_dockerfile_pairs (const hb_instr_t *in, char *const *env, char ***keys, char ***values, husk_error_t *err)
{
  husk_autostrv char **w = NULL;
  husk_autostrv char **k = NULL;
  husk_autostrv char **v = NULL;
  size_t nk = 0, nv = 0;

  if (hb_dockerfile_words (in->rest, env, true, false, &w, NULL, err) < 0)
    return husk_error_wrap (err, "%s", in->keyword);
  if (w[0] == NULL)
    return husk_error_make (err, 0, "%s requires an argument", in->keyword);
  if (strchr (w[0], '=') == NULL)
    {
      /* Legacy `ENV KEY value with spaces`: the rest of the line is the value. */
      const char *r = in->rest + strcspn (in->rest, " \t");
      husk_autostrv char **val = NULL;
      r += strspn (r, " \t");
      if (hb_dockerfile_words (r, env, true, true, &val, NULL, err) < 0)
        return husk_error_wrap (err, "%s", in->keyword);
      strv_push (&k, &nk, xstrdup (w[0]));
      strv_push (&v, &nv, xstrdup (val[0]));
    }
  else
    for (size_t i = 0; w[i]; i++)
      {
        const char *eq = strchr (w[i], '=');
        if (eq == NULL)
          return husk_error_make (err, 0, "%s: `%s` is not KEY=VALUE", in->keyword, w[i]);
        strv_push (&k, &nk, xstrndup (w[i], (size_t) (eq - w[i])));
        strv_push (&v, &nv, xstrdup (eq + 1));
      }
  *keys = steal_ptr (&k);
  *values = steal_ptr (&v);
  return (int) nk;
}
