/* The certificate and key a51d serves HTTPS with: read once at start-up and
 * checked with GnuTLS (the library libmicrohttpd uses), so that a bad file or
 * a key of another certificate is reported by name before anything listens. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a51/server.h"
#include "a51/banned.h"

/* PEM files are small; a bigger one is not what was meant. */
#define TLS_FILE_MAX (1u << 20)

static int slurp(const char *path, const char *var, char **out, size_t *len, struct a51_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return a51_error_set(err, A51_EINVAL, var, "%s: cannot read %s: %s", var, path, strerror(errno));
	buf = malloc(TLS_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return a51_error_set(err, A51_ENOMEM, var, "out of memory");
	}
	n = fread(buf, 1, TLS_FILE_MAX + 1, f);
	if (ferror(f) || n == 0 || n > TLS_FILE_MAX) {
		int e = errno;
		fclose(f);
		free(buf);
		return a51_error_set(err, A51_EINVAL, var, "%s: %s %s", var, path,
				     n > TLS_FILE_MAX ? "is larger than 1 MiB: not a PEM file"
				     : n == 0 && !e ? "is empty" : strerror(e));
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int http_tls_load(const char *cert_path, const char *key_path, struct http_tls *t, struct a51_error *err)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t c, k;
	unsigned ncrts = 0;
	size_t clen = 0, klen = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!cert_path[0] || !key_path[0])
		return a51_error_set(err, A51_EINVAL, cert_path[0] ? "A51_TLS_KEY" : "A51_TLS_CERT",
				     "A51_TLS_CERT and A51_TLS_KEY go together: set both for HTTPS, or neither");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return a51_error_set(err, A51_EINVAL, "A51_TLS_CERT",
				     "A51_TLS_CERT: this libmicrohttpd was built without TLS support");
	if ((rc = slurp(cert_path, "A51_TLS_CERT", &t->cert_pem, &clen, err)) < 0 ||
	    (rc = slurp(key_path, "A51_TLS_KEY", &t->key_pem, &klen, err)) < 0)
		goto fail;
	c = (gnutls_datum_t){ (unsigned char *)t->cert_pem, (unsigned)clen };
	k = (gnutls_datum_t){ (unsigned char *)t->key_pem, (unsigned)klen };

	rc = gnutls_x509_crt_list_import2(&crts, &ncrts, &c, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || ncrts == 0) {
		rc = a51_error_set(err, A51_EINVAL, "A51_TLS_CERT", "A51_TLS_CERT: %s holds no PEM certificate (%s)",
				   cert_path, rc < 0 ? gnutls_strerror(rc) : "none found");
		goto fail;
	}
	t->not_after = gnutls_x509_crt_get_expiration_time(crts[0]);
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    (rc = gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		rc = a51_error_set(err, A51_EINVAL, "A51_TLS_KEY",
				   "A51_TLS_KEY: %s holds no unencrypted PEM private key (%s)", key_path,
				   gnutls_strerror(rc));
		goto fail;
	}
	/* what libmicrohttpd will do with them, mismatch check included */
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		rc = a51_error_set(err, A51_ENOMEM, "A51_TLS_CERT", "out of memory");
		goto fail;
	}
	rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		rc = a51_error_set(err, A51_EINVAL, "A51_TLS_KEY",
				   "A51_TLS_KEY: the key in %s is not the key of the certificate in A51_TLS_CERT (%s)",
				   key_path, cert_path);
		goto fail;
	}
	if (rc < 0) {
		rc = a51_error_set(err, A51_EINVAL, "A51_TLS_CERT", "A51_TLS_CERT: GnuTLS refuses %s with %s: %s",
				   cert_path, key_path, gnutls_strerror(rc));
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	http_tls_release(t);
out:
	for (unsigned i = 0; i < ncrts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return rc;
}

void http_tls_release(struct http_tls *t)
{
	if (t->key_pem) {
		explicit_bzero(t->key_pem, strlen(t->key_pem));
		free(t->key_pem);
	}
	free(t->cert_pem);
	memset(t, 0, sizeof(*t));
}
