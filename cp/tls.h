/*
 * tls: edge-cp's own HTTPS identity.  With no operator-provided
 * certificate, edge-cp makes a self-signed one at first start, and nodes
 * trust it by pinning its public key (curl --pinnedpubkey, CURLOPT_
 * PINNEDPUBLICKEY) rather than by a CA: the pin travels in the enrollment
 * bootstrap, which the operator already delivers over a trusted channel.
 *
 * Called from start-up and the CLI, before any thread starts; nothing here
 * keeps state, so the functions are also safe from any thread.  Each
 * returns 0, or -1 with one line of text in the caller's err buffer (which
 * may be NULL when errlen is 0).
 */
#ifndef EF_CP_TLS_H
#define EF_CP_TLS_H

#include <stddef.h>

/* Largest key or certificate file tls_load() reads. */
#define TLS_FILE_MAX (64 * 1024)
/* "sha256//" + base64 of 32 bytes + NUL. */
#define TLS_PIN_MAX (8 + 44 + 1)

/*
 * Make an ECDSA P-256 key and an X.509 v3 certificate for it, signed by
 * itself with SHA-256: subject and issuer CN=edge-cp, a random positive
 * 128-bit serial, valid from an hour ago (clock skew) for ten years,
 * subjectAltName from dns_names and ip_addrs, keyUsage digitalSignature,
 * extendedKeyUsage serverAuth, basicConstraints CA:FALSE.
 *
 * dns_names and ip_addrs are NULL-terminated arrays, either may be NULL or
 * empty.  IP addresses are textual IPv4 ("192.0.2.1") or IPv6
 * ("2001:db8::1"); a DNS name is 1-253 bytes of letters, digits, '-', '.'
 * and '*'.  An invalid entry fails the call before anything is written.
 *
 * Writes PEM files with afile_write(): the key (PKCS#8, unencrypted) at
 * key_path with mode 0600, then the certificate at crt_path with mode
 * 0644.  Each file is replaced atomically, the pair is not: if writing the
 * certificate fails, key_path already holds the new key and the caller
 * must run this again before using the pair.
 */
int tls_selfsigned_create(const char *key_path, const char *crt_path,
    const char *const *dns_names, const char *const *ip_addrs, char *err,
    size_t errlen);

/*
 * Compute the public key pin of the first certificate in pem (len bytes,
 * need not be NUL-terminated): "sha256//" followed by the base64 SHA-256
 * of the DER SubjectPublicKeyInfo, the string curl's --pinnedpubkey takes.
 * pin needs TLS_PIN_MAX bytes.  On failure pin is emptied.
 */
int tls_pin_from_cert(const char *pem, size_t len, char *pin, size_t pinlen,
    char *err, size_t errlen);

/*
 * Read the key and certificate files (each at most TLS_FILE_MAX bytes)
 * into malloc'd NUL-terminated buffers.  The caller owns both: it frees
 * crt_pem, and wipes key_pem (sodium_memzero over strlen) before freeing
 * it.  Only reads: it does not check that the files parse or match (the
 * TLS library does when it loads them).  On failure both are NULL and
 * nothing is left allocated.
 */
int tls_load(const char *key_path, const char *crt_path, char **key_pem,
    char **crt_pem, char *err, size_t errlen);

#endif
