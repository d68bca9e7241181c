/* husk-build: image references, normalised the way docker and podman do. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"

#define DOCKER_HUB "docker.io"

static bool
valid_repo_component (const char *s, size_t n)
{
  size_t i;
  if (n == 0 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (i = 0; i < n; i++)
    {
      unsigned char c = s[i];
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        continue;
      if (c == '.' || c == '_' || c == '-')
        continue;
      return false;
    }
  return true;
}

static bool
valid_repository (const char *repo)
{
  const char *p = repo;
  if (*repo == '\0' || strlen (repo) > 255)
    return false;
  while (*p)
    {
      const char *slash = strchr (p, '/');
      size_t n = slash ? (size_t) (slash - p) : strlen (p);
      if (!valid_repo_component (p, n))
        return false;
      if (slash == NULL)
        break;
      p = slash + 1;
      if (*p == '\0')
        return false;
    }
  return true;
}

static bool
valid_tag (const char *t)
{
  size_t i, n = strlen (t);
  if (n == 0 || n > 128 || !(isalnum ((unsigned char) t[0]) || t[0] == '_'))
    return false;
  for (i = 0; i < n; i++)
    if (!(isalnum ((unsigned char) t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static bool
valid_domain (const char *d)
{
  size_t i, n = strlen (d);
  if (n == 0)
    return false;
  for (i = 0; i < n; i++)
    {
      unsigned char c = d[i];
      if (!(isalnum (c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
        return false;
    }
  return true;
}

void
hb_ref_clear (hb_ref_t *ref)
{
  free (ref->registry);
  free (ref->repository);
  free (ref->tag);
  free (ref->digest);
  memset (ref, 0, sizeof *ref);
}

int
hb_ref_parse (const char *s, hb_ref_t *ref, husk_error_t *err)
{
  husk_autofree char *name = NULL;
  char *at, *slash, *colon, *rest;

  memset (ref, 0, sizeof *ref);
  if (s == NULL || *s == '\0' || strlen (s) > 4096)
    return husk_error_make (err, 0, "invalid reference `%s`", s ? s : "");
  name = xstrdup (s);

  at = strchr (name, '@');
  if (at)
    {
      *at = '\0';
      if (!hb_digest_valid (at + 1))
        return husk_error_make (err, 0, "invalid reference `%s`: bad digest", s);
      ref->digest = xstrdup (at + 1);
    }

  /* Registry: the first component when it looks like a host. */
  slash = strchr (name, '/');
  rest = name;
  if (slash)
    {
      size_t n = slash - name;
      if (memchr (name, '.', n) || memchr (name, ':', n) || (n == 9 && strncmp (name, "localhost", 9) == 0))
        {
          ref->registry = xstrndup (name, n);
          rest = slash + 1;
        }
    }
  if (ref->registry == NULL)
    ref->registry = xstrdup (DOCKER_HUB);
  else if (strcmp (ref->registry, "index.docker.io") == 0 || strcmp (ref->registry, "registry-1.docker.io") == 0)
    {
      free (ref->registry);
      ref->registry = xstrdup (DOCKER_HUB);
    }

  /* Tag: after the last ':' of the path part. */
  colon = strrchr (rest, ':');
  if (colon)
    {
      *colon = '\0';
      if (!valid_tag (colon + 1))
        {
          hb_ref_clear (ref);
          return husk_error_make (err, 0, "invalid reference `%s`: bad tag", s);
        }
      ref->tag = xstrdup (colon + 1);
    }
  if (strcmp (ref->registry, DOCKER_HUB) == 0 && strchr (rest, '/') == NULL)
    ref->repository = xstrdup_printf ("library/%s", rest);
  else
    ref->repository = xstrdup (rest);

  if (!valid_domain (ref->registry) || !valid_repository (ref->repository))
    {
      hb_ref_clear (ref);
      return husk_error_make (err, 0, "invalid reference `%s`", s);
    }
  if (ref->tag == NULL && ref->digest == NULL)
    ref->tag = xstrdup ("latest");
  return 0;
}

char *
hb_ref_string (const hb_ref_t *ref)
{
  return xstrdup_printf ("%s/%s%s%s%s%s", ref->registry, ref->repository, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                         ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *
hb_ref_normalize (const char *s)
{
  hb_ref_t ref;
  char *out;
  if (hb_ref_parse (s, &ref, NULL) < 0)
    return NULL;
  out = hb_ref_string (&ref);
  hb_ref_clear (&ref);
  return out;
}

const char *
hb_ref_api_host (const hb_ref_t *ref)
{
  if (strcmp (ref->registry, DOCKER_HUB) == 0)
    return "registry-1.docker.io";
  return ref->registry;
}

bool
hb_ref_is_loopback (const hb_ref_t *ref)
{
  const char *r = ref->registry;
  size_t n;
  if (strncmp (r, "[::1]", 5) == 0)
    return true;
  n = strcspn (r, ":");
  if (n == 9 && strncmp (r, "localhost", 9) == 0)
    return true;
  if (strncmp (r, "127.", 4) == 0)
    return true;
  return false;
}
