/* husk-build: the registry HTTP API v2 client (libcurl). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "internal.h"
#include "registry.h"

#define ACCEPT_MANIFESTS                                                                                               \
  "Accept: " HB_MT_OCI_MANIFEST ", " HB_MT_OCI_INDEX ", " HB_MT_DOCKER_MANIFEST ", " HB_MT_DOCKER_LIST
#define MAX_MANIFEST (16 << 20)
#define MAX_ERROR_BODY (64 << 10)

struct hb_registry
{
  char *registry; /* as in the reference ("docker.io") */
  char *host;     /* where to connect ("registry-1.docker.io") */
  char *scheme;   /* "http" or "https" */
  bool insecure;
  bool scheme_probed;
  char *basic; /* "user:pass" or NULL */
  char *auth;  /* "Authorization: ..." header, or NULL */
  CURL *curl;  /* reused for sequential requests (keeps the connection) */
  hb_progress_t *progress;
  int parallel;
  int retries; /* extra attempts for transient failures */
};

/* ---- small helpers ----------------------------------------------------- */

typedef struct
{
  char *buf;
  size_t len, limit;
  bool overflow;
} membuf_t;

static void
membuf_append (membuf_t *m, const char *data, size_t n)
{
  if (m->len + n > m->limit)
    {
      m->overflow = true;
      n = m->limit > m->len ? m->limit - m->len : 0;
    }
  m->buf = xrealloc (m->buf, m->len + n + 1);
  memcpy (m->buf + m->len, data, n);
  m->len += n;
  m->buf[m->len] = '\0';
}

static void
membuf_reset (membuf_t *m)
{
  free (m->buf);
  m->buf = NULL;
  m->len = 0;
  m->overflow = false;
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_s (double s)
{
  struct timespec ts = { (time_t) s, (long) ((s - (time_t) s) * 1e9) };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static double
backoff (int attempt)
{
  double d = 0.25;
  while (attempt-- > 0 && d < 4)
    d *= 2;
  return d;
}

static bool
status_transient (long status)
{
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool
curl_transient (CURLcode c)
{
  switch (c)
    {
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static const char *
status_text (long status)
{
  switch (status)
    {
    case 400:
      return "bad request";
    case 401:
      return "unauthorized";
    case 403:
      return "denied";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 429:
      return "too many requests";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      return "unexpected HTTP status";
    }
}

/* "<registry's message> (<status>)", from an errors[] body when there is one. */
static int
status_error (long status, const char *body, husk_error_t *err)
{
  husk_autofree char *msg = NULL;
  if (body && *body == '{')
    {
      char ebuf[64];
      yajl_val root = yajl_tree_parse (body, ebuf, sizeof ebuf);
      yajl_val errs = hb_json_get (root, "errors");
      if (errs && YAJL_IS_ARRAY (errs) && errs->u.array.len > 0)
        {
          yajl_val e0 = errs->u.array.values[0];
          const char *m = hb_json_get_str (e0, "message");
          const char *code = hb_json_get_str (e0, "code");
          if (m && *m)
            msg = xstrdup (m);
          else if (code)
            msg = xstrdup (code);
        }
      yajl_tree_free (root);
    }
  if (msg == NULL)
    msg = xstrdup (status_text (status));
  if (status == 401 && strstr (msg, "unauthorized") == NULL && strstr (msg, "authentication") == NULL)
    return husk_error_make (err, 0, "unauthorized: %s (401)", msg);
  return husk_error_make (err, 0, "%s (%ld)", msg, status);
}

static char *
base64_encode (const char *s)
{
  size_t n = strlen (s);
  char *out = xmalloc (4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock ((unsigned char *) out, (const unsigned char *) s, n);
  return out;
}

static char *
base64_decode (const char *s)
{
  size_t n = strlen (s);
  char *out;
  int r;
  if (n % 4 != 0)
    return NULL;
  out = xmalloc0 (n + 1);
  r = EVP_DecodeBlock ((unsigned char *) out, (const unsigned char *) s, n);
  if (r < 0)
    {
      free (out);
      return NULL;
    }
  while (n > 0 && s[n - 1] == '=')
    {
      n--;
      r--;
    }
  out[r] = '\0';
  return out;
}

/* ---- credentials from a docker-style auth file ------------------------- */

static bool
auth_key_matches (const char *key, const char *registry)
{
  const char *k = key;
  size_t n;
  if (strncmp (k, "https://", 8) == 0)
    k += 8;
  else if (strncmp (k, "http://", 7) == 0)
    k += 7;
  n = strcspn (k, "/");
  if (strlen (registry) == n && strncmp (k, registry, n) == 0)
    return true;
  if (strcmp (registry, "docker.io") == 0)
    return (n == 15 && strncmp (k, "index.docker.io", 15) == 0)
           || (n == 20 && strncmp (k, "registry-1.docker.io", 20) == 0);
  return false;
}

static char *
creds_from_file (const char *path, const char *registry)
{
  husk_autofree char *text = NULL;
  yajl_val root = NULL, auths;
  char *out = NULL;
  size_t i;

  if (husk_read_file (path, &text, NULL, NULL) < 0 || hb_json_parse (text, path, &root, NULL) < 0)
    return NULL;
  auths = hb_json_get (root, "auths");
  if (auths && YAJL_IS_OBJECT (auths))
    for (i = 0; i < auths->u.object.len && out == NULL; i++)
      {
        const char *a;
        if (!auth_key_matches (auths->u.object.keys[i], registry))
          continue;
        a = hb_json_get_str (auths->u.object.values[i], "auth");
        if (a && *a)
          out = base64_decode (a);
        if (out && strchr (out, ':') == NULL)
          {
            free (out);
            out = NULL;
          }
      }
  yajl_tree_free (root);
  return out;
}

static char *
creds_lookup (const char *authfile, const char *registry)
{
  const char *env;
  char *c;
  if (authfile)
    return creds_from_file (authfile, registry);
  if ((env = getenv ("REGISTRY_AUTH_FILE")) && *env)
    return creds_from_file (env, registry);
  if ((env = getenv ("XDG_RUNTIME_DIR")) && *env)
    {
      husk_autofree char *p = xstrdup_printf ("%s/containers/auth.json", env);
      if ((c = creds_from_file (p, registry)))
        return c;
    }
  if ((env = getenv ("HOME")) && *env)
    {
      husk_autofree char *p = xstrdup_printf ("%s/.config/containers/auth.json", env);
      if ((c = creds_from_file (p, registry)))
        return c;
    }
  if ((env = getenv ("DOCKER_CONFIG")) && *env)
    {
      husk_autofree char *p = xstrdup_printf ("%s/config.json", env);
      if ((c = creds_from_file (p, registry)))
        return c;
    }
  if ((env = getenv ("HOME")) && *env)
    {
      husk_autofree char *p = xstrdup_printf ("%s/.docker/config.json", env);
      if ((c = creds_from_file (p, registry)))
        return c;
    }
  return NULL;
}

/* ---- client ------------------------------------------------------------ */

int
hb_registry_new (const hb_ref_t *ref, const hb_registry_opts_t *o, hb_registry_t **out, husk_error_t *err)
{
  static bool curl_ready;
  hb_registry_t *r;
  const char *env;

  if (!curl_ready)
    {
      if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return husk_error_make (err, 0, "cannot initialise libcurl");
      curl_ready = true;
    }
  r = xmalloc0 (sizeof *r);
  r->registry = xstrdup (ref->registry);
  r->host = xstrdup (hb_ref_api_host (ref));
  r->insecure = o && o->insecure;
  r->scheme = xstrdup (hb_ref_is_loopback (ref) ? "http" : "https");
  r->scheme_probed = hb_ref_is_loopback (ref) || !r->insecure;
  if (o && o->creds)
    {
      if (strchr (o->creds, ':') == NULL)
        {
          hb_registry_free (r);
          return husk_error_make (err, 0, "--creds must be USER:PASS");
        }
      r->basic = xstrdup (o->creds);
    }
  else
    r->basic = creds_lookup (o ? o->authfile : NULL, ref->registry);
  r->progress = o ? o->progress : NULL;
  r->parallel = o && o->parallel > 0 ? o->parallel : 6;
  r->retries = 3;
  if ((env = getenv ("HUSK_BUILD_RETRIES")) && *env)
    r->retries = atoi (env);
  r->curl = curl_easy_init ();
  if (r->curl == NULL)
    abort ();
  *out = r;
  return 0;
}

void
hb_registry_free (hb_registry_t *r)
{
  if (r == NULL)
    return;
  if (r->curl)
    curl_easy_cleanup (r->curl);
  free (r->registry);
  free (r->host);
  free (r->scheme);
  if (r->basic)
    explicit_bzero (r->basic, strlen (r->basic));
  free (r->basic);
  free (r->auth);
  free (r);
}

static char *
make_url (hb_registry_t *r, const char *path)
{
  if (strncmp (path, "http://", 7) == 0 || strncmp (path, "https://", 8) == 0)
    return xstrdup (path);
  return xstrdup_printf ("%s://%s%s", r->scheme, r->host, path);
}

/* ---- one request ------------------------------------------------------- */

typedef struct
{
  long status;
  membuf_t body;
  char *content_type, *digest, *location, *www_auth;
} resp_t;

static void
resp_clear (resp_t *p)
{
  membuf_reset (&p->body);
  free (p->content_type);
  free (p->digest);
  free (p->location);
  free (p->www_auth);
  p->content_type = p->digest = p->location = p->www_auth = NULL;
  p->status = 0;
}

static size_t
header_cb (char *b, size_t sz, size_t nitems, void *ud)
{
  resp_t *p = ud;
  size_t len = sz * nitems, klen;
  char **slot = NULL;
  const char *v;
  char *val;

  if (len >= 5 && strncasecmp (b, "HTTP/", 5) == 0)
    {
      free (p->content_type);
      free (p->digest);
      free (p->location);
      free (p->www_auth);
      p->content_type = p->digest = p->location = p->www_auth = NULL;
      return len;
    }
  v = memchr (b, ':', len);
  if (v == NULL)
    return len;
  klen = v - b;
#define HDR(name, field)                                                                                               \
  if (klen == strlen (name) && strncasecmp (b, name, klen) == 0)                                                       \
    slot = &p->field;
  HDR ("Content-Type", content_type)
  HDR ("Docker-Content-Digest", digest)
  HDR ("Location", location)
  HDR ("WWW-Authenticate", www_auth)
#undef HDR
  if (slot == NULL)
    return len;
  v++;
  while (v < b + len && (*v == ' ' || *v == '\t'))
    v++;
  val = xstrndup (v, b + len - v);
  val[strcspn (val, "\r\n")] = '\0';
  free (*slot);
  *slot = val;
  return len;
}

static size_t
body_cb (char *b, size_t sz, size_t n, void *ud)
{
  membuf_append (ud, b, sz * n);
  return sz * n;
}

typedef struct
{
  const char *method; /* GET, HEAD, PUT, POST */
  const char *path;   /* "/v2/..." or a full URL */
  const char *accept; /* whole "Accept: ..." header line */
  const char *content_type;
  const char *body; /* PUT from memory */
  size_t body_len;
  int fd; /* PUT from a file (when body == NULL and fd >= 0) */
  int64_t fd_len;
  int progress_item;
  size_t limit; /* response body limit */
} req_t;

typedef struct
{
  const req_t *q;
  int64_t off;
  hb_progress_t *progress;
} upload_t;

static size_t
read_cb (char *buf, size_t sz, size_t n, void *ud)
{
  upload_t *u = ud;
  size_t want = sz * n;
  ssize_t r;
  if (u->q->body)
    {
      size_t left = u->q->body_len - u->off;
      if (want > left)
        want = left;
      memcpy (buf, u->q->body + u->off, want);
      u->off += want;
      return want;
    }
  r = pread (u->q->fd, buf, want, u->off);
  if (r < 0)
    return CURL_READFUNC_ABORT;
  u->off += r;
  hb_progress_update (u->progress, u->q->progress_item, u->off);
  return r;
}

static int
seek_cb (void *ud, curl_off_t offset, int origin)
{
  upload_t *u = ud;
  if (origin != SEEK_SET)
    return CURL_SEEKFUNC_CANTSEEK;
  u->off = offset;
  return CURL_SEEKFUNC_OK;
}

static void
setup_common (hb_registry_t *r, CURL *h, const char *url, char *errbuf)
{
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "husk-build/" HUSK_VERSION);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  if (r->insecure)
    {
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  errbuf[0] = '\0';
}

static int
conn_error (hb_registry_t *r, CURLcode c, const char *errbuf, husk_error_t *err)
{
  return husk_error_make (err, 0, "connection to %s failed: %s", r->host,
                          errbuf && *errbuf ? errbuf : curl_easy_strerror (c));
}

/* Parse `Bearer realm="..",service="..",scope=".."` into its scheme and params. */
static char *
auth_param (const char *h, const char *key)
{
  const char *p = h;
  size_t kl = strlen (key);
  while ((p = strcasestr (p, key)) != NULL)
    {
      const char *before = p == h ? NULL : p - 1;
      const char *q = p + kl;
      p = q;
      if (before && !(*before == ' ' || *before == ','))
        continue;
      while (*q == ' ')
        q++;
      if (*q != '=')
        continue;
      q++;
      while (*q == ' ')
        q++;
      if (*q == '"')
        {
          const char *end = strchr (q + 1, '"');
          if (end == NULL)
            return NULL;
          return xstrndup (q + 1, end - q - 1);
        }
      return xstrndup (q, strcspn (q, ", "));
    }
  return NULL;
}

static int raw_request (hb_registry_t *r, const req_t *q, const char *auth, resp_t *p, husk_error_t *err);

static int
fetch_token (hb_registry_t *r, const char *challenge, husk_error_t *err)
{
  husk_autofree char *realm = auth_param (challenge, "realm");
  husk_autofree char *service = auth_param (challenge, "service");
  husk_autofree char *scope = auth_param (challenge, "scope");
  husk_autofree char *url = NULL;
  husk_autofree char *basic = NULL;
  husk_autofree char *b64 = NULL;
  resp_t p = { 0 };
  req_t q = { .method = "GET", .fd = -1, .limit = 1 << 20 };
  yajl_val root = NULL;
  const char *tok;
  char *sv = NULL, *sc = NULL;

  if (realm == NULL || (strncmp (realm, "http://", 7) != 0 && strncmp (realm, "https://", 8) != 0))
    return husk_error_make (err, 0, "unauthorized: bad Bearer challenge `%s` (401)", challenge);
  if (service)
    sv = curl_easy_escape (r->curl, service, 0);
  if (scope)
    sc = curl_easy_escape (r->curl, scope, 0);
  url = xstrdup_printf ("%s%s%s%s%s%s", realm, strchr (realm, '?') ? "&" : "?", sv ? "service=" : "", sv ? sv : "",
                        sc ? (sv ? "&scope=" : "scope=") : "", sc ? sc : "");
  curl_free (sv);
  curl_free (sc);
  q.path = url;
  if (r->basic)
    {
      b64 = base64_encode (r->basic);
      basic = xstrdup_printf ("Authorization: Basic %s", b64);
    }
  if (raw_request (r, &q, basic, &p, err) < 0)
    return husk_error_wrap (err, "get token from %s", realm);
  if (p.status != 200)
    {
      status_error (p.status, p.body.buf, err);
      resp_clear (&p);
      return husk_error_wrap (err, "get token from %s", realm);
    }
  if (p.body.buf == NULL || hb_json_parse (p.body.buf, "token response", &root, err) < 0)
    {
      resp_clear (&p);
      return husk_error_make (err, 0, "get token from %s: empty or invalid response", realm);
    }
  resp_clear (&p);
  tok = hb_json_get_str (root, "token");
  if (tok == NULL || *tok == '\0')
    tok = hb_json_get_str (root, "access_token");
  if (tok == NULL || *tok == '\0')
    {
      yajl_tree_free (root);
      return husk_error_make (err, 0, "get token from %s: no token in the response", realm);
    }
  free (r->auth);
  r->auth = xstrdup_printf ("Authorization: Bearer %s", tok);
  yajl_tree_free (root);
  return 0;
}

static int
rejected_error (hb_registry_t *r, husk_error_t *err)
{
  size_t ul = strcspn (r->basic, ":");
  return husk_error_make (err, 0, "unauthorized: %s rejected the credentials of `%.*s` (401)", r->registry, (int) ul,
                          r->basic);
}

/* Answer a 401: a Bearer token, or Basic with the credentials we have. */
static int
authenticate (hb_registry_t *r, const char *challenge, const char *body, husk_error_t *err)
{
  if (challenge && strncasecmp (challenge, "Bearer", 6) == 0)
    return fetch_token (r, challenge, err);
  if (challenge && strncasecmp (challenge, "Basic", 5) == 0)
    {
      husk_autofree char *b64 = NULL;
      if (r->basic == NULL)
        return husk_error_make (err, 0,
                                "unauthorized: authentication required (401); give --creds USER:PASS or an auth file");
      b64 = base64_encode (r->basic);
      free (r->auth);
      r->auth = xstrdup_printf ("Authorization: Basic %s", b64);
      return 0;
    }
  return status_error (401, body, err);
}

/* One HTTP exchange, no retries and no auth handling. */
static int
raw_request (hb_registry_t *r, const req_t *q, const char *auth, resp_t *p, husk_error_t *err)
{
  husk_autofree char *url = make_url (r, q->path);
  husk_autofree char *ct = NULL;
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *hdrs = NULL;
  upload_t up = { .q = q, .off = 0, .progress = r->progress };
  CURL *h = r->curl;
  CURLcode c;

  resp_clear (p);
  p->body.limit = q->limit ? q->limit : MAX_ERROR_BODY;
  curl_easy_reset (h);
  setup_common (r, h, url, errbuf);
  if (q->accept)
    hdrs = curl_slist_append (hdrs, q->accept);
  if (auth)
    hdrs = curl_slist_append (hdrs, auth);
  if (q->content_type)
    {
      ct = xstrdup_printf ("Content-Type: %s", q->content_type);
      hdrs = curl_slist_append (hdrs, ct);
    }
  hdrs = curl_slist_append (hdrs, "Expect:");
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, p);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &p->body);
  if (strcmp (q->method, "GET") == 0)
    curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  else if (strcmp (q->method, "HEAD") == 0)
    {
      curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
      curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
    }
  else if (strcmp (q->method, "POST") == 0)
    {
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
    }
  else
    {
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (h, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt (h, CURLOPT_READDATA, &up);
      curl_easy_setopt (h, CURLOPT_SEEKFUNCTION, seek_cb);
      curl_easy_setopt (h, CURLOPT_SEEKDATA, &up);
      curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) (q->body ? (int64_t) q->body_len : q->fd_len));
      if (strcmp (q->method, "PUT") != 0)
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, q->method);
    }
  c = curl_easy_perform (h);
  curl_slist_free_all (hdrs);
  if (c != CURLE_OK)
    return conn_error (r, c, errbuf, err) ? (int) -(int) c - 1000 : -1;
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &p->status);
  if (p->body.overflow)
    return husk_error_make (err, 0, "response from %s is too large", r->host);
  return 0;
}

/* A request with transient-failure retries and one round of auth.  The
 * caller judges the final status. */
static int
request (hb_registry_t *r, const req_t *q, resp_t *p, husk_error_t *err)
{
  bool auth_done = false;
  int attempt = 0;

  for (;;)
    {
      husk_auto_error husk_error_t e = NULL;
      int ret = raw_request (r, q, r->auth, p, &e);
      if (ret < 0)
        {
          CURLcode c = ret <= -1000 ? (CURLcode) (-ret - 1000) : CURLE_OK;
          if (!r->scheme_probed && strcmp (r->scheme, "https") == 0 && c != CURLE_COULDNT_CONNECT
              && c != CURLE_COULDNT_RESOLVE_HOST && c != CURLE_OK)
            {
              /* --insecure: the registry may not speak TLS at all. */
              free (r->scheme);
              r->scheme = xstrdup ("http");
              r->scheme_probed = true;
              continue;
            }
          if (c != CURLE_OK && curl_transient (c) && attempt < r->retries)
            {
              sleep_s (backoff (attempt++));
              continue;
            }
          husk_error_move (err, &e);
          resp_clear (p);
          return -1;
        }
      r->scheme_probed = true;
      if (p->status == 401 && !auth_done)
        {
          auth_done = true;
          if (authenticate (r, p->www_auth, p->body.buf, err) < 0)
            {
              resp_clear (p);
              return -1;
            }
          continue;
        }
      if (p->status == 401 && r->basic)
        {
          resp_clear (p);
          return rejected_error (r, err);
        }
      if (status_transient (p->status) && attempt < r->retries)
        {
          sleep_s (backoff (attempt++));
          continue;
        }
      return 0;
    }
}

/* ---- manifests --------------------------------------------------------- */

int
hb_registry_get_manifest (hb_registry_t *r, const char *repo, const char *reference, char **body, size_t *len,
                          char **media_type, char **digest, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("/v2/%s/manifests/%s", repo, reference);
  husk_autofree char *got = NULL;
  req_t q = { .method = "GET", .path = path, .accept = ACCEPT_MANIFESTS, .fd = -1, .limit = MAX_MANIFEST };
  resp_t p = { 0 };
  const char *mt = NULL;
  char *semi;

  if (request (r, &q, &p, err) < 0)
    return -1;
  if (p.status != 200)
    {
      int ret = status_error (p.status, p.body.buf, err);
      resp_clear (&p);
      return ret;
    }
  if (p.body.buf == NULL)
    {
      resp_clear (&p);
      return husk_error_make (err, 0, "empty manifest");
    }
  got = hb_sha256_mem (p.body.buf, p.body.len);
  if (hb_digest_valid (reference) && strcmp (reference, got) != 0)
    {
      resp_clear (&p);
      return husk_error_make (err, 0, "manifest digest mismatch: expected %s, got %s", reference, got);
    }
  if (p.digest && strncmp (p.digest, "sha256:", 7) == 0 && strcmp (p.digest, got) != 0)
    {
      resp_clear (&p);
      return husk_error_make (err, 0, "manifest digest mismatch: registry says %s, content is %s", p.digest, got);
    }
  if (p.content_type)
    {
      semi = strchr (p.content_type, ';');
      if (semi)
        *semi = '\0';
      if (hb_media_type_is_manifest (p.content_type) || hb_media_type_is_index (p.content_type))
        mt = p.content_type;
    }
  if (mt == NULL)
    mt = hb_manifest_sniff_media_type (p.body.buf, p.body.len);
  if (mt == NULL)
    {
      int ret = husk_error_make (err, 0, "unsupported manifest media type `%s`", p.content_type ? p.content_type : "");
      resp_clear (&p);
      return ret;
    }
  *media_type = xstrdup (mt);
  *digest = steal_ptr (&got);
  *len = p.body.len;
  *body = steal_ptr (&p.body.buf);
  resp_clear (&p);
  return 0;
}

int
hb_registry_put_manifest (hb_registry_t *r, const char *repo, const char *reference, const char *body, size_t len,
                          const char *media_type, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("/v2/%s/manifests/%s", repo, reference);
  req_t q = { .method = "PUT", .path = path, .content_type = media_type, .body = body, .body_len = len, .fd = -1 };
  resp_t p = { 0 };
  int ret = 0;

  if (request (r, &q, &p, err) < 0)
    return -1;
  if (p.status != 201 && p.status != 200)
    ret = status_error (p.status, p.body.buf, err);
  resp_clear (&p);
  return ret;
}

/* ---- blob uploads ------------------------------------------------------ */

int
hb_registry_blob_exists (hb_registry_t *r, const char *repo, const char *digest, bool *exists, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("/v2/%s/blobs/%s", repo, digest);
  req_t q = { .method = "HEAD", .path = path, .fd = -1 };
  resp_t p = { 0 };
  int ret = 0;

  if (request (r, &q, &p, err) < 0)
    return -1;
  if (p.status == 200)
    *exists = true;
  else if (p.status == 404)
    *exists = false;
  else
    ret = status_error (p.status, p.body.buf, err);
  resp_clear (&p);
  return ret;
}

int
hb_registry_upload_blob (hb_registry_t *r, const char *repo, const char *digest, const char *path, int64_t size,
                         int progress_item, husk_error_t *err)
{
  husk_autofree char *start = xstrdup_printf ("/v2/%s/blobs/uploads/", repo);
  husk_autofree char *put = NULL;
  husk_autoclose int fd = open (path, O_RDONLY | O_CLOEXEC);
  req_t q = { .method = "POST", .path = start, .fd = -1 };
  resp_t p = { 0 };
  int ret = 0;

  if (fd < 0)
    return husk_error_make (err, errno, "open `%s`", path);
  if (request (r, &q, &p, err) < 0)
    return -1;
  if (p.status != 202 || p.location == NULL)
    {
      ret = p.status == 202 ? husk_error_make (err, 0, "start upload: no Location in the response")
                            : status_error (p.status, p.body.buf, err);
      resp_clear (&p);
      return husk_error_wrap (err, "start upload");
    }
  if (p.location[0] == '/' || strncmp (p.location, "http", 4) == 0)
    put = xstrdup_printf ("%s%sdigest=%s", p.location, strchr (p.location, '?') ? "&" : "?", digest);
  else
    put = xstrdup_printf ("/%s%sdigest=%s", p.location, strchr (p.location, '?') ? "&" : "?", digest);
  resp_clear (&p);

  memset (&q, 0, sizeof q);
  q.method = "PUT";
  q.path = put;
  q.content_type = "application/octet-stream";
  q.fd = fd;
  q.fd_len = size;
  q.progress_item = progress_item;
  if (request (r, &q, &p, err) < 0)
    return -1;
  if (p.status != 201 && p.status != 204)
    ret = status_error (p.status, p.body.buf, err);
  resp_clear (&p);
  return ret;
}

/* ---- parallel blob downloads ------------------------------------------- */

typedef struct
{
  hb_registry_t *r;
  hb_blob_fetch_t *job;
  CURL *h;
  struct curl_slist *hdrs;
  char *url;
  hb_sha256_t *sha;
  int64_t got;
  int attempts;
  bool auth_retried;
  bool running, done;
  bool too_big, write_failed;
  int write_errno;
  double not_before;
  int item;
  resp_t resp; /* headers, and the body when the status is not 200 */
  char errbuf[CURL_ERROR_SIZE];
} xfer_t;

static size_t
xfer_write (char *b, size_t sz, size_t n, void *ud)
{
  xfer_t *x = ud;
  size_t len = sz * n;
  long status = 0;

  curl_easy_getinfo (x->h, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    {
      membuf_append (&x->resp.body, b, len);
      return len;
    }
  if (x->job->size >= 0 && x->got + (int64_t) len > x->job->size)
    {
      x->too_big = true;
      return 0;
    }
  if (husk_write_all (x->job->fd, b, len) < 0)
    {
      x->write_failed = true;
      x->write_errno = errno;
      return 0;
    }
  hb_sha256_update (x->sha, b, len);
  x->got += len;
  hb_progress_update (x->r->progress, x->item, x->got);
  return len;
}

static void
xfer_reset (xfer_t *x)
{
  if (ftruncate (x->job->fd, 0) < 0 || lseek (x->job->fd, 0, SEEK_SET) < 0)
    x->write_failed = true;
  hb_sha256_free (x->sha);
  x->sha = hb_sha256_new ();
  x->got = 0;
  x->too_big = false;
  resp_clear (&x->resp);
  hb_progress_update (x->r->progress, x->item, 0);
}

static void
xfer_start (xfer_t *x, CURLM *multi)
{
  hb_registry_t *r = x->r;
  x->h = curl_easy_init ();
  if (x->h == NULL)
    abort ();
  xfer_reset (x);
  x->resp.body.limit = MAX_ERROR_BODY;
  setup_common (r, x->h, x->url, x->errbuf);
  curl_slist_free_all (x->hdrs);
  x->hdrs = NULL;
  if (r->auth)
    x->hdrs = curl_slist_append (x->hdrs, r->auth);
  curl_easy_setopt (x->h, CURLOPT_HTTPHEADER, x->hdrs);
  curl_easy_setopt (x->h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (x->h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (x->h, CURLOPT_HEADERDATA, &x->resp);
  curl_easy_setopt (x->h, CURLOPT_WRITEFUNCTION, xfer_write);
  curl_easy_setopt (x->h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (x->h, CURLOPT_PRIVATE, x);
  curl_multi_add_handle (multi, x->h);
  x->running = true;
}

static void
xfer_stop (xfer_t *x, CURLM *multi)
{
  if (x->h)
    {
      curl_multi_remove_handle (multi, x->h);
      curl_easy_cleanup (x->h);
      x->h = NULL;
    }
  x->running = false;
}

/* A finished transfer: 1 done, 0 retry later, < 0 failed. */
static int
xfer_finish (xfer_t *x, CURLcode c, husk_error_t *err)
{
  hb_registry_t *r = x->r;
  long status = 0;
  husk_autofree char *digest = NULL;

  curl_easy_getinfo (x->h, CURLINFO_RESPONSE_CODE, &status);
  if (x->too_big)
    return husk_error_make (err, 0, "size mismatch: more than the %lld bytes the manifest says",
                            (long long) x->job->size);
  if (x->write_failed)
    return husk_error_make (err, x->write_errno ? x->write_errno : EIO, "cannot write the download");
  if (c != CURLE_OK)
    {
      if (curl_transient (c) && x->attempts < r->retries)
        {
          x->not_before = now_s () + backoff (x->attempts++);
          return 0;
        }
      return conn_error (r, c, x->errbuf, err);
    }
  if (status == 401 && !x->auth_retried)
    {
      x->auth_retried = true;
      if (authenticate (r, x->resp.www_auth, x->resp.body.buf, err) < 0)
        return -1;
      return 0;
    }
  if (status == 401 && r->basic)
    return rejected_error (r, err);
  if (status_transient (status) && x->attempts < r->retries)
    {
      x->not_before = now_s () + backoff (x->attempts++);
      return 0;
    }
  if (status != 200)
    return status_error (status, x->resp.body.buf, err);
  if (x->job->size >= 0 && x->got != x->job->size)
    return husk_error_make (err, 0, "size mismatch: got %lld bytes, expected %lld", (long long) x->got,
                            (long long) x->job->size);
  digest = hb_sha256_finish (x->sha);
  x->sha = NULL;
  if (strcmp (digest, x->job->digest) != 0)
    return husk_error_make (err, 0, "digest mismatch: the content hashes to %s", digest);
  return 1;
}

int
hb_registry_fetch_blobs (hb_registry_t *r, const char *repo, hb_blob_fetch_t *jobs, size_t n, husk_error_t *err)
{
  CURLM *multi = curl_multi_init ();
  xfer_t *xs = xmalloc0 (sizeof *xs * (n + 1));
  size_t i, done = 0;
  int running = 0, ret = 0;

  for (i = 0; i < n; i++)
    {
      xs[i].r = r;
      xs[i].job = &jobs[i];
      xs[i].url = xstrdup_printf ("%s://%s/v2/%s/blobs/%s", r->scheme, r->host, repo, jobs[i].digest);
      xs[i].item
          = hb_progress_add (r->progress, jobs[i].verb ? jobs[i].verb : "Copying blob", jobs[i].digest, jobs[i].size);
    }
  curl_multi_setopt (multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) r->parallel);

  while (done < n && ret == 0)
    {
      CURLMsg *msg;
      int active = 0, left;
      double now = now_s ();

      for (i = 0; i < n; i++)
        if (xs[i].running)
          active++;
      for (i = 0; i < n && active < r->parallel; i++)
        if (!xs[i].running && !xs[i].done && xs[i].not_before <= now)
          {
            xfer_start (&xs[i], multi);
            active++;
          }
      curl_multi_perform (multi, &running);
      while ((msg = curl_multi_info_read (multi, &left)) != NULL)
        {
          xfer_t *x = NULL;
          int fr;
          if (msg->msg != CURLMSG_DONE)
            continue;
          curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
          fr = xfer_finish (x, msg->data.result, err);
          xfer_stop (x, multi);
          if (fr < 0)
            {
              hb_progress_finish (r->progress, x->item, "failed");
              ret = husk_error_wrap (err, "blob %s", x->job->digest);
              break;
            }
          if (fr > 0)
            {
              x->done = true;
              done++;
              hb_progress_finish (r->progress, x->item, "done");
              if (x->job->on_done)
                x->job->on_done (x->job->arg);
            }
        }
      if (ret == 0 && done < n)
        curl_multi_poll (multi, NULL, 0, 100, NULL);
    }

  for (i = 0; i < n; i++)
    {
      xfer_stop (&xs[i], multi);
      curl_slist_free_all (xs[i].hdrs);
      hb_sha256_free (xs[i].sha);
      resp_clear (&xs[i].resp);
      free (xs[i].url);
    }
  free (xs);
  curl_multi_cleanup (multi);
  return ret;
}
