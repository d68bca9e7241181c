/* husk: small yajl_gen helpers for the JSON husk prints. */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
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

void
husk_json_gen_tree (yajl_gen g, const struct yajl_val_s *v)
{
  if (v == NULL || YAJL_IS_NULL (v))
    yajl_gen_null (g);
  else if (YAJL_IS_STRING (v))
    husk_json_str (g, v->u.string);
  else if (YAJL_IS_NUMBER (v))
    yajl_gen_number (g, v->u.number.r, strlen (v->u.number.r)); /* the raw text: uint64 stays exact */
  else if (YAJL_IS_TRUE (v))
    yajl_gen_bool (g, 1);
  else if (YAJL_IS_FALSE (v))
    yajl_gen_bool (g, 0);
  else if (YAJL_IS_ARRAY (v))
    {
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        husk_json_gen_tree (g, v->u.array.values[i]);
      yajl_gen_array_close (g);
    }
  else if (YAJL_IS_OBJECT (v))
    {
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          husk_json_str (g, v->u.object.keys[i]);
          husk_json_gen_tree (g, v->u.object.values[i]);
        }
      yajl_gen_map_close (g);
    }
}
