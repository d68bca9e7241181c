/* husk-build: streaming sha256 digests (OpenSSL libcrypto EVP). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "store.h"

struct hb_sha256
{
  EVP_MD_CTX *ctx;
};

hb_sha256_t *
hb_sha256_new (void)
{
  hb_sha256_t *h = xmalloc0 (sizeof *h);
  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    abort ();
  return h;
}

void
hb_sha256_update (hb_sha256_t *h, const void *data, size_t len)
{
  if (len > 0 && EVP_DigestUpdate (h->ctx, data, len) != 1)
    abort ();
}

char *
hb_sha256_finish (hb_sha256_t *h)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  char *out;
  size_t i;

  if (EVP_DigestFinal_ex (h->ctx, md, &n) != 1)
    abort ();
  out = xmalloc (7 + 2 * n + 1);
  memcpy (out, "sha256:", 7);
  for (i = 0; i < n; i++)
    {
      static const char hex[] = "0123456789abcdef";
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
  out[7 + 2 * n] = '\0';
  hb_sha256_free (h);
  return out;
}

void
hb_sha256_free (hb_sha256_t *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

char *
hb_sha256_mem (const void *data, size_t len)
{
  hb_sha256_t *h = hb_sha256_new ();
  hb_sha256_update (h, data, len);
  return hb_sha256_finish (h);
}

int
hb_sha256_fd (int fd, char **digest, int64_t *size, husk_error_t *err)
{
  hb_sha256_t *h = hb_sha256_new ();
  int64_t total = 0;
  char buf[65536];

  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          hb_sha256_free (h);
          return husk_error_make (err, errno, "read");
        }
      if (r == 0)
        break;
      hb_sha256_update (h, buf, r);
      total += r;
    }
  *digest = hb_sha256_finish (h);
  if (size)
    *size = total;
  return 0;
}

int
hb_sha256_file (const char *path, char **digest, int64_t *size, husk_error_t *err)
{
  husk_autoclose int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "open `%s`", path);
  if (hb_sha256_fd (fd, digest, size, err) < 0)
    return husk_error_wrap (err, "hash `%s`", path);
  return 0;
}

bool
hb_digest_valid (const char *digest)
{
  size_t i;
  if (digest == NULL || strncmp (digest, "sha256:", 7) != 0 || strlen (digest) != 71)
    return false;
  for (i = 7; i < 71; i++)
    if (!((digest[i] >= '0' && digest[i] <= '9') || (digest[i] >= 'a' && digest[i] <= 'f')))
      return false;
  return true;
}
