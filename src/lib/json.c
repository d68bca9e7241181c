/* husk: small yajl_gen helpers for the JSON husk prints. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

yajl_gen
husk_json_gen_new (bool pretty, const char *indent)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    abort ();
  if (pretty)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, indent ? indent : "  ");
    }
  return g;
}

void
husk_json_str (yajl_gen g, const char *s)
{
  if (s == NULL)
    yajl_gen_null (g);
  else
    yajl_gen_string (g, (const unsigned char *) s, strlen (s));
}

void
husk_json_kv_str (yajl_gen g, const char *k, const char *v)
{
  husk_json_str (g, k);
  husk_json_str (g, v);
}

void
husk_json_kv_int (yajl_gen g, const char *k, long long v)
{
  husk_json_str (g, k);
  yajl_gen_integer (g, v);
}

void
husk_json_kv_bool (yajl_gen g, const char *k, bool v)
{
  husk_json_str (g, k);
  yajl_gen_bool (g, v);
}

char *
husk_json_gen_finish (yajl_gen g)
{
  const unsigned char *buf;
  size_t len;
  char *out;
  yajl_gen_get_buf (g, &buf, &len);
  out = xstrndup ((const char *) buf, len);
  yajl_gen_free (g);
  /* yajl's beautifier ends with a newline; callers decide about newlines. */
  len = strlen (out);
  while (len > 0 && out[len - 1] == '\n')
    out[--len] = '\0';
  return out;
}
