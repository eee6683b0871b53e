#include "cp/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/embedded.h"

#define STORE_READERS 4

struct store_reader {
	sqlite3 *db;
	pthread_mutex_t mu;
};

/* A status report waiting for its group commit (store_node_status). */
struct status_job {
	const char *id, *status;
	const unsigned char *hash;
	int64_t now;
	int rc;
	bool done;
	struct status_job *next;
};

struct store {
	sqlite3 *w;
	pthread_mutex_t wmu;
	/* The status queue: gq in arrival order, one leader writing. */
	pthread_mutex_t gmu;
	pthread_cond_t gcv;
	struct status_job *gq, **gtail;
	bool gleader;
	atomic_llong last_event; /* newest committed event id */
	void (*on_event)(void);
	struct store_reader r[STORE_READERS];
	atomic_uint rr;
	atomic_ullong commits; /* write transactions committed */
	int version;
};

/* The newest event id the open write transaction added (0: none). */
static _Thread_local int64_t store_ev_added;
static atomic_int store_write_count;
static atomic_int store_fail_at; /* 0: no fault armed */

void
store_fault_fail_nth(int n)
{
	atomic_store(
	    &store_fail_at, n > 0 ? atomic_load(&store_write_count) + n : 0);
}

/* Map SQLite's result to ours, logging what callers cannot act on. */
static int
store_rc(sqlite3 *db, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_FULL:
		log_warnx("event=store_error op=%s err=disk_full", what);
		return STORE_FULL;
	default:
		break;
	}
	switch (sqlite3_extended_errcode(db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return STORE_CONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return STORE_INVALID;
	default:
		log_warnx("event=store_error op=%s rc=%d msg=\"%s\"", what, rc,
		    sqlite3_errmsg(db));
		return STORE_ERR;
	}
}

/*
 * Prepare and bind.  fmt has one letter per parameter:
 *   s  const char * (NULL binds NULL)    i  int64_t
 *   b  const unsigned char * of 32 bytes  B  const void *, size_t
 */
static sqlite3_stmt *
store_vprep(sqlite3 *db, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int i, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx(
		    "event=store_error op=prepare msg=\"%s\" sql=\"%.60s\"",
		    sqlite3_errmsg(db), sql);
		return NULL;
	}
	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		const char *str;
		const void *p;
		size_t n;

		switch (fmt[i]) {
		case 's':
			str = va_arg(ap, const char *);
			rc = str ? sqlite3_bind_text(
				       st, i + 1, str, -1, SQLITE_TRANSIENT)
				 : sqlite3_bind_null(st, i + 1);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b':
			p = va_arg(ap, const unsigned char *);
			rc = sqlite3_bind_blob(
			    st, i + 1, p, 32, SQLITE_TRANSIENT);
			break;
		case 'B':
			p = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob(
			    st, i + 1, p, (int)n, SQLITE_TRANSIENT);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	if (rc != SQLITE_OK) {
		log_warnx("event=store_error op=bind rc=%d", rc);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static sqlite3_stmt *
store_prep(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = store_vprep(db, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* Run a statement that returns no rows.  *changes gets sqlite3_changes. */
static int
store_exec(sqlite3 *db, int *changes, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = store_vprep(db, sql, fmt, ap);
	va_end(ap);
	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return store_rc(db, rc, "exec");
}

/*
 * Turn a result row into an object: integer and text columns as they are;
 * a column whose name ends in "_json" (and "status", "facts", "bgp",
 * "doc", "params", "detail", "wave_names") is parsed back into JSON;
 * blobs are skipped.
 */
static bool
store_col_is_json(const char *name)
{
	static const char *const json_cols[] = { "status", "facts", "bgp",
		"doc", "params", "detail", "wave_names", NULL };
	size_t i;

	for (i = 0; json_cols[i] != NULL; i++)
		if (strcmp(name, json_cols[i]) == 0)
			return true;
	return false;
}

static json_t *
store_row_json(sqlite3_stmt *st)
{
	json_t *o = json_object(), *v;
	int i, n = sqlite3_column_count(st);

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		const char *txt;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_TEXT:
			txt = (const char *)sqlite3_column_text(st, i);
			if (store_col_is_json(name)) {
				v = json_loads(txt, 0, NULL);
				if (v == NULL)
					v = json_null();
			} else
				v = json_string(txt);
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			continue;
		}
		if (v == NULL || json_object_set_new(o, name, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Run a query and collect every row as an object in an array. */
static int
store_query(sqlite3 *db, json_t **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	json_t *arr, *row;
	va_list ap;
	int rc;

	*out = NULL;
	va_start(ap, fmt);
	st = store_vprep(db, sql, fmt, ap);
	va_end(ap);
	if (st == NULL)
		return STORE_ERR;
	if ((arr = json_array()) == NULL) {
		sqlite3_finalize(st);
		return STORE_ERR;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = store_row_json(st)) == NULL ||
		    json_array_append_new(arr, row) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return store_rc(db, rc, "query");
	}
	*out = arr;
	return STORE_OK;
}

/* Like store_query, but exactly one row is wanted. */
static int
store_query_one(json_t **out, int rc, json_t *arr)
{
	*out = NULL;
	if (rc != STORE_OK)
		return rc;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return STORE_NOTFOUND;
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return STORE_OK;
}

static struct store_reader *
store_rd(struct store *s)
{
	unsigned i, start = atomic_fetch_add(&s->rr, 1);

	for (i = 0; i < STORE_READERS; i++) {
		struct store_reader *r = &s->r[(start + i) % STORE_READERS];

		if (pthread_mutex_trylock(&r->mu) == 0)
			return r;
	}
	pthread_mutex_lock(&s->r[start % STORE_READERS].mu);
	return &s->r[start % STORE_READERS];
}

static void
store_rd_done(struct store_reader *r)
{
	pthread_mutex_unlock(&r->mu);
}

/*
 * Run a one-row read on a reader connection: row(st, arg) is called on the
 * first row.  STORE_NOTFOUND when there is none.
 */
static int
store_row1(struct store *s, void (*row)(sqlite3_stmt *, void *), void *arg,
    const char *what, const char *sql, const char *fmt, ...)
{
	struct store_reader *r = store_rd(s);
	sqlite3_stmt *st;
	va_list ap;
	int rc = STORE_ERR, step;

	va_start(ap, fmt);
	st = store_vprep(r->db, sql, fmt, ap);
	va_end(ap);
	if (st != NULL) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			row(st, arg);
			rc = STORE_OK;
		} else
			rc = step == SQLITE_DONE ? STORE_NOTFOUND
						 : store_rc(r->db, step, what);
		sqlite3_finalize(st);
	}
	store_rd_done(r);
	return rc;
}

struct store_text {
	char *buf;
	size_t len;
};

/* Copy column 0 (and 1, when a second buffer is given) as text. */
static void
store_row_texts(sqlite3_stmt *st, void *arg)
{
	struct store_text *t = arg;
	int i;

	for (i = 0; i < 2 && t[i].buf != NULL; i++) {
		const unsigned char *v = sqlite3_column_text(st, i);

		util_strlcpy(t[i].buf, v ? (const char *)v : "", t[i].len);
	}
}

static void
store_row_int(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

/* Begin a write transaction; NULL (with *rc set) when it cannot start. */
static sqlite3 *
store_wbegin(struct store *s, int *rc)
{
	int n;

	pthread_mutex_lock(&s->wmu);
	n = atomic_fetch_add(&store_write_count, 1) + 1;
	if (n == atomic_load(&store_fail_at)) {
		log_warnx("event=store_fault_injected write=%d", n);
		*rc = STORE_ERR;
		pthread_mutex_unlock(&s->wmu);
		return NULL;
	}
	*rc = store_rc(s->w,
	    sqlite3_exec(s->w, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
	if (*rc != STORE_OK) {
		pthread_mutex_unlock(&s->wmu);
		return NULL;
	}
	return s->w;
}

/* Commit when rc is STORE_OK, roll back otherwise; returns the outcome. */
static int
store_wend(struct store *s, int rc)
{
	int64_t ev = store_ev_added;

	store_ev_added = 0;
	if (rc == STORE_OK) {
		int c = sqlite3_exec(s->w, "COMMIT", NULL, NULL, NULL);

		if (c != SQLITE_OK)
			rc = store_rc(s->w, c, "commit");
		else
			atomic_fetch_add(&s->commits, 1);
	}
	if (rc != STORE_OK && sqlite3_get_autocommit(s->w) == 0)
		sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
	if (rc == STORE_OK && ev > 0)
		atomic_store(&s->last_event, ev);
	pthread_mutex_unlock(&s->wmu);
	if (rc == STORE_OK && ev > 0 && s->on_event != NULL)
		s->on_event();
	return rc;
}

/* An event that happened at ts (the write transaction's own). */
static int
store_ev_at(sqlite3 *db, int64_t ts, const char *actor, const char *action,
    const char *object, const char *detail)
{
	int rc = store_exec(db, NULL,
	    "INSERT INTO events(ts, actor, action, object, detail) "
	    "VALUES (?, ?, ?, ?, ?)",
	    "issss", ts, actor, action, object, detail ? detail : "{}");

	if (rc == STORE_OK)
		store_ev_added = sqlite3_last_insert_rowid(db);
	return rc;
}

/* An event that happens now, with the change it records. */
static int
store_ev(sqlite3 *db, const char *actor, const char *action, const char *object,
    const char *detail)
{
	return store_ev_at(db, util_now(), actor, action, object, detail);
}

static int
store_conn_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	static const char pragmas[] = "PRAGMA journal_mode=WAL;"
				      "PRAGMA synchronous=FULL;"
				      "PRAGMA foreign_keys=ON;"
				      "PRAGMA busy_timeout=10000;";

	if (sqlite3_open_v2(path, db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path,
		    *db ? sqlite3_errmsg(*db) : "out of memory");
		return -1;
	}
	if (sqlite3_exec(*db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(
		    err, errlen, "configure %s: %s", path, sqlite3_errmsg(*db));
		return -1;
	}
	return 0;
}

/* Migrations are embedded files named schema/NNN_what.sql, in order. */
static int
store_migrate(struct store *s, char *err, size_t errlen)
{
	const struct embedded_file *f;
	sqlite3_stmt *st;
	int have = 0, rc, n;
	char *msg = NULL;

	if (sqlite3_exec(s->w, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto sqlerr;
	if (sqlite3_prepare_v2(s->w, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		goto sqlerr;
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	s->version = have;
	for (f = embedded_files; f->name != NULL; f++) {
		const char *base;
		char pragma[64];
		int64_t num;
		char numbuf[4];

		if (strncmp(f->name, "schema/", 7) != 0)
			continue;
		base = f->name + 7;
		if (strlen(base) < 5 || base[3] != '_')
			continue;
		memcpy(numbuf, base, 3);
		numbuf[3] = '\0';
		if (util_parse_i64(numbuf, 1, 999, &num) != 0)
			continue;
		n = (int)num;
		if (n <= have)
			continue;
		if (n != s->version + 1) {
			snprintf(
			    err, errlen, "migration %s out of order", f->name);
			goto fail;
		}
		if (sqlite3_exec(s->w, (const char *)f->data, NULL, NULL,
			&msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %s: %s", f->name,
			    msg ? msg : "error");
			sqlite3_free(msg);
			goto fail;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", n);
		if (sqlite3_exec(s->w, pragma, NULL, NULL, NULL) != SQLITE_OK)
			goto sqlerr;
		log_info("event=migrated schema=%s", f->name);
		s->version = n;
	}
	rc = sqlite3_exec(s->w, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	return 0;
sqlerr:
	snprintf(err, errlen, "migrate: %s", sqlite3_errmsg(s->w));
fail:
	sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->gmu, NULL);
	pthread_cond_init(&s->gcv, NULL);
	s->gtail = &s->gq;
	for (i = 0; i < STORE_READERS; i++)
		pthread_mutex_init(&s->r[i].mu, NULL);
	if (store_conn_open(path, &s->w, err, errlen) != 0 ||
	    store_migrate(s, err, errlen) != 0)
		goto fail;
	for (i = 0; i < STORE_READERS; i++)
		if (store_conn_open(path, &s->r[i].db, err, errlen) != 0)
			goto fail;
	{
		/*
		 * The newest id ever given, which retention may have removed
		 * since: AUTOINCREMENT keeps it in sqlite_sequence.
		 */
		sqlite3_stmt *st = store_prep(s->w,
		    "SELECT max(coalesce((SELECT max(id) FROM events), 0), "
		    "coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
		    "'events'), 0))",
		    "");

		if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			snprintf(
			    err, errlen, "events: %s", sqlite3_errmsg(s->w));
			goto fail;
		}
		atomic_store(&s->last_event, sqlite3_column_int64(st, 0));
		sqlite3_finalize(st);
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < STORE_READERS; i++)
		sqlite3_close(s->r[i].db);
	if (s->w != NULL) {
		sqlite3_wal_checkpoint_v2(
		    s->w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close(s->w);
	}
	for (i = 0; i < STORE_READERS; i++)
		pthread_mutex_destroy(&s->r[i].mu);
	pthread_mutex_destroy(&s->wmu);
	pthread_mutex_destroy(&s->gmu);
	pthread_cond_destroy(&s->gcv);
	free(s);
}

int
store_schema_version(struct store *s)
{
	return s->version;
}

/* ---- meta ---------------------------------------------------------- */

int
store_meta_get(struct store *s, const char *key, char *val, size_t len)
{
	struct store_text t[2] = { { val, len }, { NULL, 0 } };

	return store_row1(s, store_row_texts, t, "meta_get",
	    "SELECT value FROM meta WHERE key = ?", "s", key);
}

int
store_meta_set(struct store *s, const char *key, const char *val,
    const char *action, const char *actor)
{
	char detail[256];
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	if (val != NULL)
		rc = store_exec(db, NULL,
		    "INSERT INTO meta(key, value) "
		    "VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
		    "value = excluded.value",
		    "ss", key, val);
	else
		rc = store_exec(
		    db, NULL, "DELETE FROM meta WHERE key = ?", "s", key);
	if (rc == STORE_OK) {
		json_t *d = json_pack("{s:s?}", "value", val);
		char *txt = d ? json_dumps(d, JSON_COMPACT) : NULL;

		util_strlcpy(detail, txt ? txt : "{}", sizeof(detail));
		free(txt);
		json_decref(d);
		rc = store_ev(db, actor, action, key, detail);
	}
	return store_wend(s, rc);
}

/* ---- the restore guard ----------------------------------------------- */

/*
 * The marks: per kind, the higher of what the table holds and the floor
 * in meta.  One row, columns dataplane, keeper, profile.
 */
#define STORE_FLOOR(k)                                                         \
	"coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = "       \
	"'floor." k "'), 0)"
#define STORE_MARKS_SQL                                                        \
	"SELECT max(coalesce((SELECT max(seq) FROM releases WHERE "            \
	"component = 'dataplane'), 0), " STORE_FLOOR(                          \
	    "dataplane") "), "                                                 \
			 "max(coalesce((SELECT max(seq) FROM releases WHERE "  \
			 "component = "                                        \
			 "'keeper'), 0), " STORE_FLOOR(                        \
			     "keeper") "), "                                   \
				       "max(coalesce((SELECT max(version) "    \
				       "FROM profiles), 0), " STORE_FLOOR(     \
					   "profile") "), "                    \
						      "max(coalesce((SELECT "  \
						      "max(id) FROM events), " \
						      "0), coalesce((SELECT "  \
						      "seq FROM "              \
						      "sqlite_sequence WHERE " \
						      "name = 'events'), 0))"

static void
store_row_marks(sqlite3_stmt *st, void *arg)
{
	struct store_marks *m = arg;

	m->dataplane = sqlite3_column_int64(st, 0);
	m->keeper = sqlite3_column_int64(st, 1);
	m->profile = sqlite3_column_int64(st, 2);
	m->events = sqlite3_column_int64(st, 3);
}

/*
 * A one-row read on db (the writer, inside its transaction): row(st,
 * arg) on the row.  STORE_NOTFOUND when there is none.
 */
static int
store_row_on(sqlite3 *db, void (*row)(sqlite3_stmt *, void *), void *arg,
    const char *sql)
{
	sqlite3_stmt *st = store_prep(db, sql, "");
	int step;

	if (st == NULL)
		return STORE_ERR;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		row(st, arg);
	sqlite3_finalize(st);
	if (step == SQLITE_ROW)
		return STORE_OK;
	return step == SQLITE_DONE ? STORE_NOTFOUND
				   : store_rc(db, step, "row_on");
}

static int
store_marks_on(sqlite3 *db, struct store_marks *m)
{
	memset(m, 0, sizeof(*m));
	return store_row_on(db, store_row_marks, m, STORE_MARKS_SQL);
}

#define STORE_GENERATION_SQL                                                   \
	"SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'"

int
store_marks(struct store *s, struct store_marks *m)
{
	memset(m, 0, sizeof(*m));
	return store_row1(s, store_row_marks, m, "marks", STORE_MARKS_SQL, "");
}

int
store_generation(struct store *s, int64_t *gen)
{
	*gen = 0;
	return store_row1(
	    s, store_row_int, gen, "generation", STORE_GENERATION_SQL, "");
}

static int
store_generation_set(sqlite3 *db, int64_t gen)
{
	char v[24];

	snprintf(v, sizeof(v), "%lld", (long long)gen);
	return store_exec(db, NULL,
	    "INSERT INTO meta(key, value) VALUES ('generation', ?) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	    "s", v);
}

int
store_generation_bump(
    struct store *s, int64_t at_least, int64_t *gen, struct store_marks *m)
{
	sqlite3 *db;
	int64_t have = 0;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_row_on(db, store_row_int, &have, STORE_GENERATION_SQL);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return store_wend(s, rc);
	if (have < at_least)
		have = at_least;
	if (have == INT64_MAX)
		return store_wend(s, STORE_ERR);
	*gen = have + 1;
	rc = store_generation_set(db, *gen);
	if (rc == STORE_OK)
		rc = store_marks_on(db, m);
	return store_wend(s, rc);
}

/* Raise the floors (inside a write transaction); *raised when any. */
static int
store_floors_raise(
    sqlite3 *db, const struct store_marks *m, const char *actor, bool *raised)
{
	static const char *const kinds[] = { "dataplane", "keeper", "profile" };
	struct store_marks have;
	int64_t want[3] = { m->dataplane, m->keeper, m->profile };
	int64_t cur[3];
	char key[32], v[24], detail[96];
	int i, rc;

	if ((rc = store_marks_on(db, &have)) != STORE_OK)
		return rc;
	cur[0] = have.dataplane;
	cur[1] = have.keeper;
	cur[2] = have.profile;
	for (i = 0; i < 3 && rc == STORE_OK; i++) {
		if (want[i] <= cur[i])
			continue;
		snprintf(key, sizeof(key), "floor.%s", kinds[i]);
		snprintf(v, sizeof(v), "%lld", (long long)want[i]);
		rc = store_exec(db, NULL,
		    "INSERT INTO meta(key, value) VALUES (?, ?) "
		    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		    "ss", key, v);
		snprintf(detail, sizeof(detail), "{\"from\":%lld,\"to\":%lld}",
		    (long long)cur[i], (long long)want[i]);
		if (rc == STORE_OK)
			rc = store_ev(
			    db, actor, "store.floor_raised", kinds[i], detail);
		if (rc == STORE_OK && raised != NULL)
			*raised = true;
	}
	return rc;
}

int
store_marks_raise(struct store *s, const struct store_marks *m,
    const char *actor, bool *raised)
{
	sqlite3 *db;
	int rc;

	if (raised != NULL)
		*raised = false;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_floors_raise(db, m, actor, raised);
	return store_wend(s, rc);
}

/* The replay of DATA_DIR/revoked (store_restore_accept). */
static int
store_restore_revocations(sqlite3 *db, struct store_restore *r)
{
	static const char reason[] =
	    "{\"reason\":\"removed before the restore (DATA_DIR/revoked)\"}";
	json_t *rows = NULL;
	size_t i;
	int rc = STORE_OK;

	for (i = 0; rc == STORE_OK && i < r->nnodes; i++) {
		const char *id;

		rc = store_query(db, &rows,
		    "SELECT id FROM nodes WHERE public_key = ?", "b",
		    r->nodes[i]);
		id = json_string_value(
		    json_object_get(json_array_get(rows, 0), "id"));
		if (rc == STORE_OK && id != NULL)
			rc = store_exec(db, NULL,
			    "DELETE FROM nodes WHERE id = ?", "s", id);
		if (rc == STORE_OK && id != NULL) {
			rc = store_ev(db, "edge-cp", "node.remove", id, reason);
			r->nodes_removed++;
		}
		json_decref(rows);
		rows = NULL;
	}
	for (i = 0; rc == STORE_OK && i < r->ntokens; i++) {
		const char *name;

		rc = store_query(db, &rows,
		    "SELECT name FROM api_tokens WHERE hash = ? AND "
		    "revoked_at IS NULL",
		    "b", r->tokens[i]);
		name = json_string_value(
		    json_object_get(json_array_get(rows, 0), "name"));
		if (rc == STORE_OK && name != NULL)
			rc = store_exec(db, NULL,
			    "UPDATE api_tokens SET revoked_at = ? WHERE hash "
			    "= ?",
			    "ib", r->now, r->tokens[i]);
		if (rc == STORE_OK && name != NULL) {
			rc = store_ev(
			    db, "edge-cp", "api_token.revoke", name, reason);
			r->apitokens_revoked++;
		}
		json_decref(rows);
		rows = NULL;
	}
	return rc;
}

int
store_restore_accept(struct store *s, struct store_restore *r)
{
	char detail[384], fg[24] = "null";
	int changes = 0, frozen = 0;
	sqlite3 *db;
	int rc;

	r->enrolltokens_revoked = r->nodes_removed = r->apitokens_revoked = 0;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	if (r->marks != NULL)
		rc = store_floors_raise(db, r->marks, "edge-cp", NULL);
	/* AUTOINCREMENT counts from sqlite_sequence: move it on. */
	if (rc == STORE_OK && r->marks != NULL)
		rc = store_exec(db, NULL,
		    "INSERT INTO sqlite_sequence(name, seq) SELECT 'events', 0 "
		    "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE "
		    "name = 'events')",
		    "");
	if (rc == STORE_OK && r->marks != NULL)
		rc = store_exec(db, NULL,
		    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'events' "
		    "AND seq < ?1",
		    "i", r->marks->events);
	if (rc == STORE_OK)
		rc = store_restore_revocations(db, r);
	if (rc == STORE_OK)
		rc = store_exec(db, &changes,
		    "UPDATE enrollment_tokens SET revoked_at = ?, revoked_by "
		    "= 'edge-cp' WHERE revoked_at IS NULL AND uses_left > 0 "
		    "AND expires_at > ?",
		    "ii", r->now, r->now);
	r->enrolltokens_revoked = changes;
	if (rc == STORE_OK)
		rc = store_exec(db, &frozen,
		    "INSERT INTO meta(key, value) VALUES ('freeze', "
		    "'edge-cp') ON CONFLICT(key) DO UPDATE SET value = "
		    "excluded.value WHERE meta.value = ''",
		    "");
	if (rc == STORE_OK && frozen > 0)
		rc = store_ev(db, "edge-cp", "freeze.on", "freeze",
		    "{\"value\":\"edge-cp\",\"reason\":\"restored\"}");
	if (rc == STORE_OK && r->file_gen > r->db_gen)
		rc = store_generation_set(db, r->file_gen);
	if (r->file_gen >= 0)
		snprintf(fg, sizeof(fg), "%lld", (long long)r->file_gen);
	snprintf(detail, sizeof(detail),
	    "{\"database_generation\":%lld,\"file_generation\":%s,"
	    "\"enrollment_tokens_revoked\":%lld,\"nodes_removed\":%lld,"
	    "\"api_tokens_revoked\":%lld,\"frozen\":true}",
	    (long long)r->db_gen, fg, (long long)r->enrolltokens_revoked,
	    (long long)r->nodes_removed, (long long)r->apitokens_revoked);
	if (rc == STORE_OK)
		rc = store_ev(db, "edge-cp", "store.restored", "store", detail);
	return store_wend(s, rc);
}

uint64_t
store_commits(struct store *s)
{
	return atomic_load(&s->commits);
}

/* ---- API tokens ------------------------------------------------------ */

int
store_apitoken_add(struct store *s, const char *name, const char *role,
    const unsigned char hash[32], int64_t expires_at, const char *actor)
{
	char detail[96];
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, NULL,
	    "INSERT INTO api_tokens(name, role, hash, created_at, created_by, "
	    "expires_at) VALUES (?, ?, ?, ?, ?, nullif(?, 0))",
	    "ssbisi", name, role, hash, util_now(), actor, expires_at);
	if (expires_at > 0)
		snprintf(detail, sizeof(detail),
		    "{\"role\":\"%s\",\"expires_at\":%lld}", role,
		    (long long)expires_at);
	else
		snprintf(detail, sizeof(detail),
		    "{\"role\":\"%s\",\"expires_at\":null}", role);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "api_token.create", name, detail);
	return store_wend(s, rc);
}

static void
store_row_apitoken(sqlite3_stmt *st, void *arg)
{
	struct store_apitoken *t = arg;
	const unsigned char *v;

	v = sqlite3_column_text(st, 0);
	util_strlcpy(t->name, v ? (const char *)v : "", sizeof(t->name));
	v = sqlite3_column_text(st, 1);
	util_strlcpy(t->role, v ? (const char *)v : "", sizeof(t->role));
	t->expires_at = sqlite3_column_int64(st, 2);
	t->last_used = sqlite3_column_int64(st, 3);
	t->revoked_at = sqlite3_column_int64(st, 4);
}

int
store_apitoken_find(
    struct store *s, const unsigned char hash[32], struct store_apitoken *t)
{
	memset(t, 0, sizeof(*t));
	return store_row1(s, store_row_apitoken, t, "apitoken_find",
	    "SELECT name, role, coalesce(expires_at, 0), last_used, "
	    "coalesce(revoked_at, 0) FROM api_tokens WHERE hash = ?",
	    "b", hash);
}

static void
store_row_hash(sqlite3_stmt *st, void *arg)
{
	const void *b = sqlite3_column_blob(st, 0);

	if (b != NULL && sqlite3_column_bytes(st, 0) == 32)
		memcpy(arg, b, 32);
}

int
store_apitoken_hash(struct store *s, const char *name, unsigned char hash[32])
{
	memset(hash, 0, 32);
	return store_row1(s, store_row_hash, hash, "apitoken_hash",
	    "SELECT hash FROM api_tokens WHERE name = ? AND revoked_at IS "
	    "NULL",
	    "s", name);
}

int
store_apitoken_touch(struct store *s, const unsigned char hash[32], int64_t now)
{
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, NULL,
	    "UPDATE api_tokens SET last_used = max(last_used, ?) WHERE hash = "
	    "? AND revoked_at IS NULL",
	    "ib", now, hash);
	return store_wend(s, rc);
}

int
store_apitoken_list(struct store *s, int64_t now, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT name, role, created_at, created_by, expires_at, "
	    "nullif(last_used, 0) AS last_used, CASE WHEN expires_at <= ?1 "
	    "THEN 'expired' ELSE 'active' END AS state FROM api_tokens "
	    "WHERE revoked_at IS NULL ORDER BY name",
	    "i", now);
	store_rd_done(r);
	return rc;
}

int
store_apitoken_revoke(
    struct store *s, const char *name, int64_t now, const char *actor)
{
	char detail[64], role[16] = "";
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc, step;
	bool usable = false;
	int64_t others = 0;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	/* The token, and whether another admin token would still work. */
	st = store_prep(db,
	    "SELECT role, expires_at IS NULL OR expires_at > ?2, (SELECT "
	    "count(*) FROM api_tokens o WHERE o.role = 'admin' AND "
	    "o.revoked_at IS NULL AND (o.expires_at IS NULL OR o.expires_at > "
	    "?2) AND o.name != ?1) FROM api_tokens WHERE name = ?1 AND "
	    "revoked_at IS NULL",
	    "si", name, now);
	if (st == NULL)
		return store_wend(s, STORE_ERR);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		util_strlcpy(role, (const char *)sqlite3_column_text(st, 0),
		    sizeof(role));
		usable = sqlite3_column_int(st, 1) != 0;
		others = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (step == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else if (step != SQLITE_ROW)
		rc = store_rc(db, step, "apitoken_revoke");
	else if (strcmp(role, "admin") == 0 && usable && others == 0)
		rc = STORE_CONFLICT;
	if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? "
		    "WHERE name = ? AND revoked_at IS NULL",
		    "iss", now, actor, name);
	snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}", role);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "api_token.revoke", name, detail);
	return store_wend(s, rc);
}

int
store_apitoken_related(
    struct store *s, const char *a, const char *b, bool *related)
{
	struct store_reader *r;
	json_t *arr;
	int rc;

	/* Until the store says otherwise, the same person: refuse. */
	*related = true;
	if (strcmp(a, b) == 0)
		return STORE_OK;
	/*
	 * Walk up from each name through created_by (UNION drops repeats
	 * and the depth bounds a cycle, which a reused name can make), then
	 * look for a name on both walks: one of the two themselves (one
	 * made the other), or a token that edge-cp did not make itself (a
	 * maker both share).  The first admin token, made by edge-cp, made
	 * every person's token: sharing it proves nothing.
	 */
	r = store_rd(s);
	rc = store_query(r->db, &arr,
	    "WITH RECURSIVE up(who, start, depth) AS ("
	    "SELECT ?1, ?1, 0 UNION SELECT ?2, ?2, 0 UNION "
	    "SELECT t.created_by, up.start, up.depth + 1 FROM api_tokens t "
	    "JOIN up ON t.name = up.who WHERE up.depth < 32) "
	    "SELECT 1 AS hit FROM up x JOIN up y ON x.who = y.who "
	    "WHERE x.start = ?1 AND y.start = ?2 AND (x.who IN (?1, ?2) OR "
	    "EXISTS (SELECT 1 FROM api_tokens m WHERE m.name = x.who AND "
	    "m.created_by != 'edge-cp')) LIMIT 1",
	    "ss", a, b);
	store_rd_done(r);
	if (rc != STORE_OK)
		return rc;
	*related = json_array_size(arr) > 0;
	json_decref(arr);
	return STORE_OK;
}

/* ---- POPs ------------------------------------------------------------ */

int
store_pop_add(struct store *s, const char *name, const char *region,
    const char *bgp, const char *actor)
{
	sqlite3 *db;
	int64_t now = util_now();
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, NULL,
	    "INSERT INTO pops(name, region, bgp, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
	    "sssii", name, region, bgp, now, now);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "pop.create", name, NULL);
	return store_wend(s, rc);
}

int
store_pop_update(struct store *s, const char *name, const char *region,
    const char *bgp, const char *actor)
{
	sqlite3 *db;
	int rc, changes = 0;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, &changes,
	    "UPDATE pops SET "
	    "region = coalesce(?, region), bgp = coalesce(?, bgp), "
	    "updated_at = ? WHERE name = ?",
	    "ssis", region, bgp, util_now(), name);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "pop.update", name, NULL);
	return store_wend(s, rc);
}

#define POP_COLS                                                               \
	"name, region, bgp, created_at, updated_at, "                          \
	"(SELECT count(*) FROM nodes WHERE nodes.pop = pops.name) AS nodes"

int
store_pop_get(struct store *s, const char *name, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	rc = store_query(r->db, &arr,
	    "SELECT " POP_COLS " FROM pops "
	    "WHERE name = ?",
	    "s", name);
	store_rd_done(r);
	return store_query_one(out, rc, arr);
}

int
store_pop_list(struct store *s, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT " POP_COLS " FROM pops "
	    "ORDER BY name",
	    "");
	store_rd_done(r);
	return rc;
}

/* ---- enrollment ------------------------------------------------------ */

int
store_enrolltoken_add(struct store *s, const unsigned char hash[32],
    const char *pop, int64_t uses, int64_t expires_at, const char *actor,
    int64_t *id)
{
	char detail[160];
	int64_t rowid = 0;
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, NULL,
	    "INSERT INTO enrollment_tokens(hash, pop, "
	    "uses, uses_left, expires_at, created_at, created_by) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)",
	    "bsiiiis", hash, pop, uses, uses, expires_at, util_now(), actor);
	if (rc == STORE_OK) {
		rowid = sqlite3_last_insert_rowid(db);
		snprintf(detail, sizeof(detail),
		    "{\"id\":%lld,\"uses\":%lld,\"expires_at\":%lld}",
		    (long long)rowid, (long long)uses, (long long)expires_at);
		rc =
		    store_ev(db, actor, "enrollment_token.create", pop, detail);
	}
	rc = store_wend(s, rc);
	if (rc == STORE_OK && id != NULL)
		*id = rowid;
	return rc;
}

int
store_enrolltoken_list(struct store *s, int64_t now, bool all, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT * FROM (SELECT id, pop, uses, uses_left, CASE WHEN "
	    "revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= ?1 THEN "
	    "'expired' WHEN uses_left = 0 THEN 'used_up' ELSE 'active' END AS "
	    "state, created_at, created_by, expires_at, revoked_at, revoked_by "
	    "FROM enrollment_tokens WHERE ?2 OR (revoked_at IS NULL AND "
	    "expires_at > ?1 AND uses_left > 0) ORDER BY id DESC LIMIT ?3) "
	    "ORDER BY id",
	    "iii", now, (int64_t)all, (int64_t)STORE_ENROLLTOKEN_LIST);
	store_rd_done(r);
	return rc;
}

int
store_enrolltoken_revoke(
    struct store *s, int64_t id, int64_t now, const char *actor)
{
	char detail[160], pop[64] = "";
	int64_t uses_left = 0, expires_at = 0;
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc, step;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	st = store_prep(db,
	    "SELECT pop, uses_left, expires_at FROM enrollment_tokens WHERE "
	    "id = ? AND revoked_at IS NULL",
	    "i", id);
	if (st == NULL)
		return store_wend(s, STORE_ERR);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		util_strlcpy(
		    pop, (const char *)sqlite3_column_text(st, 0), sizeof(pop));
		uses_left = sqlite3_column_int64(st, 1);
		expires_at = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (step == SQLITE_DONE)
		rc = STORE_NOTFOUND;
	else if (step != SQLITE_ROW)
		rc = store_rc(db, step, "enrolltoken_revoke");
	if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "UPDATE enrollment_tokens SET revoked_at = ?, revoked_by = "
		    "? WHERE id = ? AND revoked_at IS NULL",
		    "isi", now, actor, id);
	if (rc == STORE_OK) {
		snprintf(detail, sizeof(detail),
		    "{\"id\":%lld,\"uses_left\":%lld,\"expires_at\":%lld}",
		    (long long)id, (long long)uses_left, (long long)expires_at);
		rc =
		    store_ev(db, actor, "enrollment_token.revoke", pop, detail);
	}
	return store_wend(s, rc);
}

int
store_enroll(struct store *s, const unsigned char token_hash[32], int64_t now,
    const struct store_new_node *n, char *pop, size_t poplen)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	char detail[288], host[128];
	int64_t token_id = 0;
	int rc, changes = 0, step;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	/*
	 * The decrement is the claim: under BEGIN IMMEDIATE and one writer,
	 * the first caller takes the last use and every later one sees 0.
	 */
	rc = store_exec(db, &changes,
	    "UPDATE enrollment_tokens SET "
	    "uses_left = uses_left - 1 WHERE hash = ? AND uses_left > 0 "
	    "AND expires_at > ? AND revoked_at IS NULL",
	    "bi", token_hash, now);
	if (rc == STORE_OK && changes != 1)
		rc = STORE_NOTFOUND;
	if (rc != STORE_OK)
		return store_wend(s, rc);
	st = store_prep(db,
	    "SELECT pop, id FROM enrollment_tokens WHERE hash = ?", "b",
	    token_hash);
	if (st == NULL)
		return store_wend(s, STORE_ERR);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		util_strlcpy(
		    pop, (const char *)sqlite3_column_text(st, 0), poplen);
		token_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW)
		return store_wend(s, store_rc(db, step, "enroll_pop"));
	rc = store_exec(db, NULL,
	    "INSERT INTO nodes(id, pop, hostname, "
	    "public_key, facts, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
	    "sssBsi", n->id, pop, n->hostname, n->public_key, (size_t)32,
	    n->facts, now);
	if (rc == STORE_OK) {
		snprintf(detail, sizeof(detail),
		    "{\"pop\":\"%s\",\"hostname\":%s,"
		    "\"enrollment_token\":%lld}",
		    pop, log_quote(host, sizeof(host), n->hostname),
		    (long long)token_id);
		rc = store_ev(db, n->id, "node.enroll", n->id, detail);
	}
	return store_wend(s, rc);
}

/* ---- nodes ----------------------------------------------------------- */

int
store_node_each(struct store *s,
    int (*fn)(const struct store_node_row *, void *), void *arg)
{
	struct store_reader *r = store_rd(s);
	struct store_node_row row;
	sqlite3_stmt *st;
	int rc = STORE_OK, step;

	st = store_prep(r->db,
	    "SELECT id, pop, public_key, state, drain, "
	    "last_seen, status_hash, status FROM nodes",
	    "");
	if (st == NULL) {
		store_rd_done(r);
		return STORE_ERR;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		util_strlcpy(row.id, (const char *)sqlite3_column_text(st, 0),
		    sizeof(row.id));
		util_strlcpy(row.pop, (const char *)sqlite3_column_text(st, 1),
		    sizeof(row.pop));
		if (sqlite3_column_bytes(st, 2) == 32)
			memcpy(row.public_key, sqlite3_column_blob(st, 2), 32);
		row.active = strcmp((const char *)sqlite3_column_text(st, 3),
				 "active") == 0;
		row.drain = sqlite3_column_int(st, 4) != 0;
		row.last_seen = sqlite3_column_int64(st, 5);
		if (sqlite3_column_bytes(st, 6) == 32) {
			memcpy(row.status_hash, sqlite3_column_blob(st, 6), 32);
			row.has_status = true;
		}
		row.status = (const char *)sqlite3_column_text(st, 7);
		if (fn(&row, arg) != 0) {
			rc = STORE_ERR;
			break;
		}
	}
	if (rc == STORE_OK && step != SQLITE_DONE)
		rc = store_rc(r->db, step, "node_each");
	sqlite3_finalize(st);
	store_rd_done(r);
	return rc;
}

#define NODE_COLS                                                              \
	"id, pop, hostname, state, drain, facts, enrolled_at, "                \
	"last_seen, status, status_at, "                                       \
	"coalesce(router_id, json_extract(facts, '$.router_id'), '') "         \
	"AS router_id, "                                                       \
	"(SELECT json_group_object(component, version) FROM node_targets "     \
	" WHERE node_id = nodes.id) AS targets_json"

/* node_targets come back as a JSON string; parse it in place. */
static void
store_fix_targets(json_t *node)
{
	json_t *t = json_object_get(node, "targets_json"), *v = NULL;

	if (json_is_string(t))
		v = json_loads(json_string_value(t), 0, NULL);
	json_object_set_new(node, "targets", v ? v : json_object());
	json_object_del(node, "targets_json");
}

int
store_node_list(struct store *s, json_t **out)
{
	struct store_reader *r = store_rd(s);
	size_t i;
	json_t *n;
	int rc;

	rc = store_query(r->db, out,
	    "SELECT " NODE_COLS " FROM nodes "
	    "ORDER BY pop, id",
	    "");
	store_rd_done(r);
	if (rc == STORE_OK)
		json_array_foreach(*out, i, n) store_fix_targets(n);
	return rc;
}

int
store_node_get(struct store *s, const char *id, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	rc = store_query(r->db, &arr,
	    "SELECT " NODE_COLS " FROM nodes "
	    "WHERE id = ?",
	    "s", id);
	store_rd_done(r);
	rc = store_query_one(out, rc, arr);
	if (rc == STORE_OK)
		store_fix_targets(*out);
	return rc;
}

int
store_node_set_drain(
    struct store *s, const char *id, bool drain, const char *actor)
{
	sqlite3 *db;
	int rc, changes = 0;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, &changes,
	    "UPDATE nodes SET drain = ? "
	    "WHERE id = ?",
	    "is", (int64_t)drain, id);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = store_ev(
		    db, actor, drain ? "node.drain" : "node.undrain", id, NULL);
	return store_wend(s, rc);
}

int
store_node_set_router_id(
    struct store *s, const char *id, const char *router_id, const char *actor)
{
	sqlite3 *db;
	int rc, changes = 0;
	char detail[64];

	/* router_id is a validated IPv4 address: safe inside the JSON. */
	snprintf(detail, sizeof(detail),
	    router_id ? "{\"router_id\":\"%s\"}" : "{\"router_id\":null%s}",
	    router_id ? router_id : "");
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, &changes,
	    "UPDATE nodes SET router_id = ? "
	    "WHERE id = ?",
	    "ss", router_id, id);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "node.set", id, detail);
	return store_wend(s, rc);
}

int
store_node_delete(struct store *s, const char *id, const char *actor)
{
	sqlite3 *db;
	int rc, changes = 0;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc =
	    store_exec(db, &changes, "DELETE FROM nodes WHERE id = ?", "s", id);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "node.remove", id, NULL);
	return store_wend(s, rc);
}

/* Write a batch of reports in one transaction: one fsync for all. */
static void
store_status_batch(struct store *s, struct status_job *batch)
{
	struct status_job *j;
	sqlite3 *db;
	int rc, changes;

	if ((db = store_wbegin(s, &rc)) == NULL) {
		for (j = batch; j != NULL; j = j->next)
			j->rc = rc;
		return;
	}
	for (j = batch; j != NULL && rc == STORE_OK; j = j->next) {
		changes = 0;
		j->rc = store_exec(db, &changes,
		    "UPDATE nodes SET status = ?, "
		    "status_hash = ?, status_at = ?, last_seen = ? WHERE id = "
		    "?",
		    "sbiis", j->status, j->hash, j->now, j->now, j->id);
		if (j->rc == STORE_OK && changes == 0) {
			j->rc =
			    STORE_NOTFOUND; /* removed meanwhile: not fatal */
			continue;
		}
		if (j->rc == STORE_OK) {
			j->rc = store_exec(db, &changes,
			    "UPDATE nodes SET state = "
			    "'active' WHERE id = ? AND state = 'enrolled'",
			    "s", j->id);
			if (j->rc == STORE_OK && changes == 1)
				j->rc = store_ev(
				    db, j->id, "node.activate", j->id, NULL);
		}
		rc = j->rc;
	}
	/* One failed statement fails the transaction, and so every job. */
	rc = store_wend(s, rc);
	for (j = batch; j != NULL; j = j->next)
		if (rc != STORE_OK || j->rc != STORE_NOTFOUND)
			j->rc = rc;
}

/*
 * Group commit: every thread queues its report; whichever finds no
 * leader becomes it, writes everything queued so far in one transaction,
 * marks those done and wakes the rest (one of them leads the next batch).
 * A report is answered only after the commit that holds it.
 */
int
store_node_status(struct store *s, const char *id, const char *status,
    const unsigned char hash[32], int64_t now)
{
	struct status_job job = { id, status, hash, now, STORE_OK, false,
		NULL };

	pthread_mutex_lock(&s->gmu);
	*s->gtail = &job;
	/*
	 * job leaves the queue before it is done (the leader that takes the
	 * batch resets gtail), so the pointer never outlives it.
	 */
	/* cppcheck-suppress autoVariables */
	s->gtail = &job.next;
	while (!job.done) {
		struct status_job *batch, *j;

		if (s->gleader) {
			pthread_cond_wait(&s->gcv, &s->gmu);
			continue;
		}
		s->gleader = true;
		batch = s->gq;
		s->gq = NULL;
		s->gtail = &s->gq;
		pthread_mutex_unlock(&s->gmu);
		store_status_batch(s, batch);
		pthread_mutex_lock(&s->gmu);
		for (j = batch; j != NULL; j = j->next)
			j->done = true;
		s->gleader = false;
		pthread_cond_broadcast(&s->gcv);
	}
	pthread_mutex_unlock(&s->gmu);
	return job.rc;
}

int
store_node_flush_seen(struct store *s, const struct store_seen *v, size_t n)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t i;
	int rc;

	if (n == 0)
		return STORE_OK;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	st = store_prep(db,
	    "UPDATE nodes SET last_seen = max(last_seen, ?) "
	    "WHERE id = ?",
	    "");
	if (st == NULL)
		return store_wend(s, STORE_ERR);
	for (i = 0; i < n && rc == STORE_OK; i++) {
		sqlite3_bind_int64(st, 1, v[i].last_seen);
		sqlite3_bind_text(st, 2, v[i].id, -1, SQLITE_STATIC);
		rc = store_rc(db, sqlite3_step(st), "flush_seen");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return store_wend(s, rc);
}

/* ---- profiles -------------------------------------------------------- */

int
store_profile_put(
    struct store *s, const char *doc, const char *actor, int64_t *version)
{
	char detail[64];
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, NULL,
	    "INSERT INTO profiles(version, doc, "
	    "created_at, created_by) VALUES ((SELECT max(coalesce("
	    "max(version), 0), " STORE_FLOOR("profile") ") + 1 FROM "
							"profiles), ?, ?, ?)",
	    "sis", doc, util_now(), actor);
	if (rc == STORE_OK) {
		*version = sqlite3_last_insert_rowid(db);
		snprintf(detail, sizeof(detail), "{\"version\":%lld}",
		    (long long)*version);
		rc = store_ev(db, actor, "profile.put", "profile", detail);
	}
	return store_wend(s, rc);
}

int
store_profile_get(struct store *s, int64_t version, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	rc = store_query(r->db, &arr,
	    "SELECT version, doc, created_at, "
	    "created_by FROM profiles WHERE version = CASE WHEN ? = 0 THEN "
	    "(SELECT max(version) FROM profiles) ELSE ? END",
	    "ii", version, version);
	store_rd_done(r);
	return store_query_one(out, rc, arr);
}

/* ---- desired state --------------------------------------------------- */

/*
 * A release target of node n as {"version", "rollback"}: the node's own
 * (set by a rollout) or else the baseline; version "" when neither.
 */
#define STORE_TARGET(c)                                                        \
	"json(coalesce((SELECT json_object('version', version, 'rollback', "   \
	"json(iif(rollback, 'true', 'false'))) FROM node_targets WHERE "       \
	"node_id = n.id AND component = '" c "'), (SELECT json_object("        \
	"'version', version, 'rollback', json(iif(rollback, 'true', "          \
	"'false'))) FROM baseline WHERE component = '" c "'), "                \
	"json_object('version', '', 'rollback', json('false'))))"

int
store_desired_inputs(struct store *s, const char *node_id, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr = NULL, *row, *doc = NULL, *targets, *prof = NULL;
	const char *pv;
	int64_t pver;
	int rc;

	*out = NULL;
	rc = store_query(r->db, &arr,
	    "SELECT n.drain AS drain, coalesce(n.router_id, "
	    "json_extract(n.facts, '$.router_id'), '') AS router_id, "
	    "p.name AS "
	    "pop, p.region AS region, p.bgp AS bgp, "
	    "(SELECT json_object("
	    " 'profile', coalesce((SELECT version FROM node_targets WHERE "
	    "  node_id = n.id AND component = 'profile'), (SELECT version "
	    "  FROM baseline WHERE component = 'profile'), ''),"
	    " 'profile_rollback', json(iif(coalesce((SELECT rollback FROM "
	    "  node_targets WHERE node_id = n.id AND component = "
	    "  'profile'), (SELECT rollback FROM baseline WHERE component = "
	    "  'profile'), 0), 'true', 'false')),"
	    " 'dataplane', " STORE_TARGET(
		"dataplane") ","
			     " 'keeper', " STORE_TARGET(
				 "keeper") ")) AS params "
					   "FROM nodes n JOIN pops p ON p.name "
					   "= n.pop WHERE n.id = ?",
	    "s", node_id);
	if (rc == STORE_OK && json_array_size(arr) == 0)
		rc = STORE_NOTFOUND;
	if (rc != STORE_OK)
		goto out;
	row = json_array_get(arr, 0);
	targets = json_object_get(row, "params");
	pv = json_string_value(json_object_get(targets, "profile"));
	if (pv != NULL && pv[0] != '\0' &&
	    util_parse_i64(pv, 1, INT64_MAX, &pver) == 0) {
		json_t *parr;

		rc = store_query(r->db, &parr,
		    "SELECT doc FROM profiles "
		    "WHERE version = ?",
		    "i", pver);
		if (rc != STORE_OK)
			goto out;
		if (json_array_size(parr) == 1)
			prof = json_incref(
			    json_object_get(json_array_get(parr, 0), "doc"));
		json_decref(parr);
	}
	doc = json_pack("{s:{s:O,s:O,s:O},s:b,s:O,s:o,s:O}", "pop", "name",
	    json_object_get(row, "pop"), "region",
	    json_object_get(row, "region"), "bgp", json_object_get(row, "bgp"),
	    "drain", json_integer_value(json_object_get(row, "drain")) != 0,
	    "targets", targets, "profile", prof ? prof : json_null(),
	    "router_id", json_object_get(row, "router_id"));
	prof = NULL;
	if (doc == NULL)
		rc = STORE_ERR;
out:
	store_rd_done(r);
	json_decref(arr);
	json_decref(prof);
	*out = doc;
	return rc;
}

/* ---- releases -------------------------------------------------------- */

int
store_release_exists(
    struct store *s, const char *component, const char *version)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	if (strcmp(component, "profile") == 0) {
		int64_t v;

		if (util_parse_i64(version, 1, INT64_MAX, &v) != 0) {
			store_rd_done(r);
			return STORE_NOTFOUND;
		}
		rc = store_query(r->db, &arr,
		    "SELECT version FROM profiles "
		    "WHERE version = ?",
		    "i", v);
	} else
		rc = store_query(r->db, &arr,
		    "SELECT version FROM releases "
		    "WHERE component = ? AND version = ?",
		    "ss", component, version);
	store_rd_done(r);
	if (rc == STORE_OK && json_array_size(arr) == 0)
		rc = STORE_NOTFOUND;
	json_decref(arr);
	return rc;
}

int
store_release_next_seq(struct store *s, const char *component, int64_t *seq)
{
	*seq = 0;
	return store_row1(s, store_row_int, seq, "release_next_seq",
	    "SELECT max(coalesce(max(seq), 0), coalesce((SELECT CAST(value "
	    "AS INTEGER) FROM meta WHERE key = 'floor.' || ?1), 0)) + 1 "
	    "FROM releases WHERE component = ?1",
	    "s", component);
}

int
store_release_add(
    struct store *s, const struct store_release *rel, const char *actor)
{
	char obj[128], *detail = NULL;
	json_t *d;
	sqlite3 *db;
	int rc;

	snprintf(obj, sizeof(obj), "%s/%s", rel->component, rel->version);
	d = json_pack("{s:I,s:I,s:s}", "seq", (json_int_t)rel->seq, "size",
	    (json_int_t)rel->size, "sha256", rel->sha256);
	if (d == NULL || (detail = json_dumps(d, JSON_COMPACT)) == NULL) {
		json_decref(d);
		return STORE_ERR;
	}
	json_decref(d);
	if ((db = store_wbegin(s, &rc)) == NULL) {
		free(detail);
		return rc;
	}
	rc = store_exec(db, NULL,
	    "INSERT INTO releases(component, version, "
	    "sha256, size, seq, created_at, created_by) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)",
	    "sssiiis", rel->component, rel->version, rel->sha256, rel->size,
	    rel->seq, util_now(), actor);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "release.add", obj, detail);
	free(detail);
	return store_wend(s, rc);
}

int
store_release_list(struct store *s, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT component, version, seq, sha256, size, created_at, "
	    "created_by, approved_at, approved_by, 'released' AS state "
	    "FROM releases UNION ALL SELECT component, version, NULL, "
	    "sha256, size, created_at, created_by, NULL, NULL, 'pending' "
	    "FROM release_uploads ORDER BY component, state DESC, seq, "
	    "created_at",
	    "");
	store_rd_done(r);
	return rc;
}

int
store_release_pending_add(
    struct store *s, const struct store_release *rel, const char *actor)
{
	char obj[128], detail[192];
	json_t *have = NULL;
	sqlite3 *db;
	int rc;

	snprintf(obj, sizeof(obj), "%s/%s", rel->component, rel->version);
	snprintf(detail, sizeof(detail),
	    "{\"state\":\"pending\",\"size\":%lld,\"sha256\":\"%.64s\"}",
	    (long long)rel->size, rel->sha256);
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_query(db, &have,
	    "SELECT 1 AS x FROM releases WHERE component = ? AND version = ?",
	    "ss", rel->component, rel->version);
	if (rc == STORE_OK && json_array_size(have) > 0)
		rc = STORE_CONFLICT;
	json_decref(have);
	if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "INSERT INTO release_uploads(component, version, sha256, "
		    "size, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
		    "sssiis", rel->component, rel->version, rel->sha256,
		    rel->size, util_now(), actor);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "release.upload", obj, detail);
	return store_wend(s, rc);
}

int
store_release_pending_get(
    struct store *s, const char *component, const char *version, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	rc = store_query(r->db, &arr,
	    "SELECT component, version, sha256, size, created_at, created_by "
	    "FROM release_uploads WHERE component = ? AND version = ?",
	    "ss", component, version);
	store_rd_done(r);
	return store_query_one(out, rc, arr);
}

int
store_release_approve(
    struct store *s, const struct store_release *rel, const char *actor)
{
	char obj[128], *detail = NULL;
	json_t *up = NULL, *d;
	sqlite3 *db;
	int rc, changes = 0;

	snprintf(obj, sizeof(obj), "%s/%s", rel->component, rel->version);
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_query(db, &up,
	    "SELECT created_by FROM release_uploads WHERE component = ? AND "
	    "version = ?",
	    "ss", rel->component, rel->version);
	if (rc == STORE_OK && json_array_size(up) == 0)
		rc = STORE_NOTFOUND;
	/* What is signed must be what was uploaded: size and hash match. */
	if (rc == STORE_OK)
		rc = store_exec(db, &changes,
		    "INSERT INTO releases(component, version, sha256, size, "
		    "seq, created_at, created_by, approved_by, approved_at) "
		    "SELECT component, version, sha256, size, ?, created_at, "
		    "created_by, ?, ? FROM release_uploads WHERE component = ? "
		    "AND version = ? AND sha256 = ? AND size = ?",
		    "isisssi", rel->seq, actor, util_now(), rel->component,
		    rel->version, rel->sha256, rel->size);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_INVALID;
	if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "DELETE FROM release_uploads WHERE component = ? AND "
		    "version = ?",
		    "ss", rel->component, rel->version);
	if (rc == STORE_OK) {
		d = json_pack("{s:I,s:I,s:s,s:O}", "seq", (json_int_t)rel->seq,
		    "size", (json_int_t)rel->size, "sha256", rel->sha256,
		    "uploaded_by",
		    json_object_get(json_array_get(up, 0), "created_by"));
		detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
		json_decref(d);
		rc = detail
		    ? store_ev(db, actor, "release.approve", obj, detail)
		    : STORE_ERR;
	}
	free(detail);
	json_decref(up);
	return store_wend(s, rc);
}

int
store_release_pending_drop(struct store *s, const char *component,
    const char *version, const char *actor)
{
	char obj[128];
	sqlite3 *db;
	int rc, changes = 0;

	snprintf(obj, sizeof(obj), "%s/%s", component, version);
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, &changes,
	    "DELETE FROM release_uploads WHERE component = ? AND version = ?",
	    "ss", component, version);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "release.discard", obj, "{}");
	return store_wend(s, rc);
}

/* ---- rollouts -------------------------------------------------------- */

int
store_rollout_candidates(struct store *s, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT n.id AS id, n.pop AS pop, p.region AS region FROM nodes n "
	    "JOIN pops p ON p.name = n.pop ORDER BY n.id",
	    "");
	store_rd_done(r);
	return rc;
}

int
store_rollout_create(struct store *s, const struct store_rollout_new *ro,
    const char *actor, int64_t *id)
{
	sqlite3 *db;
	int64_t now = util_now();
	char detail[256], obj[32];
	size_t i;
	int rc;

	if ((rc = store_release_exists(s, ro->component, ro->version)) !=
	    STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_INVALID : rc;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	if (!ro->rollback) {
		json_t *older = NULL;

		rc = store_query(db, &older,
		    "SELECT 1 AS older FROM releases n, releases o, baseline b "
		    "WHERE n.component = ?1 AND n.version = ?2 "
		    "AND b.component = ?1 AND o.component = ?1 "
		    "AND o.version = b.version AND n.seq < o.seq",
		    "ss", ro->component, ro->version);
		if (rc == STORE_OK && json_array_size(older) > 0)
			rc = STORE_ROLLBACK;
		json_decref(older);
		older = NULL;
		/* Profiles: their versions are their order. */
		if (rc == STORE_OK && strcmp(ro->component, "profile") == 0)
			rc = store_query(db, &older,
			    "SELECT 1 AS older FROM baseline WHERE component "
			    "= 'profile' AND version != '' AND "
			    "CAST(? AS INTEGER) < CAST(version AS INTEGER)",
			    "s", ro->version);
		if (rc == STORE_OK && json_array_size(older) > 0)
			rc = STORE_ROLLBACK;
		json_decref(older);
		if (rc != STORE_OK)
			return store_wend(s, rc);
	}
	rc = store_exec(db, NULL,
	    "INSERT INTO rollouts(component, version, previous, strategy, "
	    "state, params, created_at, updated_at, created_by, wave, waves, "
	    "wave_names, wave_started_at) VALUES (?, ?, coalesce((SELECT "
	    "version FROM baseline WHERE component = ?), ''), ?, ?, "
	    "?, ?, ?, ?, 0, ?, ?, ?)",
	    "ssssssiisisi", ro->component, ro->version, ro->component,
	    ro->strategy, ro->state ? ro->state : "running", ro->params, now,
	    now, actor, (int64_t)ro->nwaves, ro->wave_names, now);
	if (rc != STORE_OK)
		return store_wend(s, rc);
	*id = sqlite3_last_insert_rowid(db);
	/* The plan; nothing moves until the engine's next tick. */
	for (i = 0; rc == STORE_OK && i < ro->nplan; i++)
		rc = store_exec(db, NULL,
		    "INSERT INTO rollout_nodes(rollout_id, node_id, pop, wave, "
		    "state) VALUES (?, ?, ?, ?, ?)",
		    "issis", *id, ro->plan[i].node_id, ro->plan[i].pop,
		    (int64_t)ro->plan[i].wave,
		    ro->plan[i].wave < 0 ? "skipped" : "planned");
	snprintf(obj, sizeof(obj), "rollout/%lld", (long long)*id);
	snprintf(detail, sizeof(detail),
	    "{\"component\":\"%s\","
	    "\"version\":\"%.64s\",\"strategy\":\"%s\",\"waves\":%d,"
	    "\"nodes\":%zu,\"state\":\"%s\"}",
	    ro->component, ro->version, ro->strategy, ro->nwaves, ro->nplan,
	    ro->state ? ro->state : "running");
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "rollout.create", obj, detail);
	return store_wend(s, rc);
}

int
store_rollout_plan(struct store *s, int64_t id, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    "SELECT node_id, pop, wave, state, moved_at FROM rollout_nodes "
	    "WHERE rollout_id = ? ORDER BY wave, node_id",
	    "i", id);
	store_rd_done(r);
	return rc;
}

int
store_rollout_move(struct store *s, int64_t id, const json_t *ids, int64_t wave,
    const char *actor)
{
	char obj[32], detail[128];
	const json_t *v;
	sqlite3 *db;
	size_t i;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	json_array_foreach(ids, i, v)
	{
		const char *node = json_string_value(v);

		/* A node removed since the plan is simply not moved. */
		rc = store_exec(db, NULL,
		    "INSERT OR REPLACE INTO node_targets(node_id, component, "
		    "version, rollout_id, rollback) SELECT n.id, r.component, "
		    "r.version, r.id, coalesce(json_extract(r.params, "
		    "'$.rollback'), 0) FROM nodes n, rollouts r WHERE n.id = ? "
		    "AND r.id = ? AND r.state = 'running'",
		    "si", node, id);
		if (rc == STORE_OK)
			rc = store_exec(db, NULL,
			    "UPDATE rollout_nodes SET state = 'moved', "
			    "moved_at = ? WHERE rollout_id = ? AND node_id = ? "
			    "AND state = 'planned'",
			    "iis", util_now(), id, node);
		if (rc != STORE_OK)
			break;
	}
	snprintf(obj, sizeof(obj), "rollout/%lld", (long long)id);
	snprintf(detail, sizeof(detail), "{\"wave\":%lld,\"moved\":%zu}",
	    (long long)wave, json_array_size(ids));
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "rollout.move", obj, detail);
	return store_wend(s, rc);
}

int
store_rollout_gate(struct store *s, int64_t id, int64_t since)
{
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	if (since > 0)
		rc = store_exec(db, NULL,
		    "UPDATE rollouts SET gate_since = ? WHERE id = ?", "ii",
		    since, id);
	else
		rc = store_exec(db, NULL,
		    "UPDATE rollouts SET gate_since = NULL WHERE id = ?", "i",
		    id);
	return store_wend(s, rc);
}

int
store_rollout_advance(struct store *s, int64_t id, int64_t wave, const char *to,
    const char *evidence, const char *actor)
{
	char obj[32];
	sqlite3 *db;
	int rc, changes = 0;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_exec(db, &changes,
	    "UPDATE rollouts SET wave = wave + 1, wave_started_at = ?, "
	    "gate_since = NULL, state = ?, updated_at = ? WHERE id = ? AND "
	    "wave = ? AND state = 'running'",
	    "isiii", util_now(), to, util_now(), id, wave);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_CONFLICT;
	snprintf(obj, sizeof(obj), "rollout/%lld", (long long)id);
	if (rc == STORE_OK)
		rc = store_ev(db, actor, "rollout.wave_passed", obj, evidence);
	return store_wend(s, rc);
}

#define ROLLOUT_COLS                                                           \
	"id, component, version, previous, strategy, state, "                  \
	"params, reason, created_at, updated_at, created_by, wave, waves, "    \
	"wave_names, wave_started_at, gate_since"

int
store_rollout_get(struct store *s, int64_t id, json_t **out)
{
	struct store_reader *r = store_rd(s);
	json_t *arr;
	int rc;

	rc = store_query(r->db, &arr,
	    "SELECT " ROLLOUT_COLS " FROM rollouts "
	    "WHERE id = ?",
	    "i", id);
	store_rd_done(r);
	return store_query_one(out, rc, arr);
}

int
store_rollout_list(struct store *s, bool active_only, json_t **out)
{
	struct store_reader *r = store_rd(s);
	int rc;

	rc = store_query(r->db, out,
	    active_only ? "SELECT " ROLLOUT_COLS
			  " FROM rollouts WHERE state IN "
			  "('running', 'paused', 'halted', 'approval') "
			  "ORDER BY id"
			: "SELECT " ROLLOUT_COLS
			  " FROM rollouts ORDER BY id DESC LIMIT 200",
	    "");
	store_rd_done(r);
	return rc;
}

static int
store_rollout_transition(sqlite3 *db, int64_t id, const char *from,
    const char *to, const char *reason, const char *actor)
{
	char obj[32], detail[512], rq[400];
	int rc, changes = 0;

	if (from != NULL)
		rc = store_exec(db, &changes,
		    "UPDATE rollouts SET state = ?, "
		    "reason = ?, updated_at = ? WHERE id = ? AND state = ?",
		    "ssiis", to, reason, util_now(), id, from);
	else
		rc = store_exec(db, &changes,
		    "UPDATE rollouts SET state = ?, "
		    "reason = ?, updated_at = ? WHERE id = ? AND state IN "
		    "('running', 'paused', 'halted', 'approval')",
		    "ssii", to, reason, util_now(), id);
	if (rc == STORE_OK && changes == 0)
		rc = STORE_CONFLICT;
	if (rc != STORE_OK)
		return rc;
	snprintf(obj, sizeof(obj), "rollout/%lld", (long long)id);
	snprintf(detail, sizeof(detail), "{\"state\":\"%s\",\"reason\":%s}", to,
	    log_quote(rq, sizeof(rq), reason));
	return store_ev(db, actor, "rollout.state", obj, detail);
}

int
store_rollout_set_state(struct store *s, int64_t id, const char *from,
    const char *to, const char *reason, const char *actor)
{
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_rollout_transition(db, id, from, to, reason, actor);
	/* Running again: the wave's deadline and bake clock start over. */
	if (rc == STORE_OK && strcmp(to, "running") == 0)
		rc = store_exec(db, NULL,
		    "UPDATE rollouts SET wave_started_at = ?, gate_since = "
		    "NULL WHERE id = ?",
		    "ii", util_now(), id);
	return store_wend(s, rc);
}

int
store_rollout_finish(struct store *s, int64_t id, const char *state,
    const char *reason, const char *actor)
{
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_rollout_transition(db, id, NULL, state, reason, actor);
	if (rc == STORE_OK && strcmp(state, "completed") == 0)
		rc = store_exec(db, NULL,
		    "INSERT OR REPLACE INTO baseline(component, version, "
		    "rollback) SELECT component, version, "
		    "coalesce(json_extract(params, '$.rollback'), 0) "
		    "FROM rollouts WHERE id = ?",
		    "i", id);
	/* Going back to the baseline is the operator's explicit word. */
	else if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "UPDATE baseline SET rollback = 1 WHERE component = "
		    "(SELECT component FROM rollouts WHERE id = ?)",
		    "i", id);
	/*
	 * Completed: the baseline now equals the targets.  Aborted: the
	 * baseline is still the previous version, so dropping the targets
	 * is the roll back.
	 */
	if (rc == STORE_OK)
		rc = store_exec(db, NULL,
		    "DELETE FROM node_targets WHERE "
		    "rollout_id = ?",
		    "i", id);
	/*
	 * Nodes that were not healthy when the rollout was planned are not
	 * upgraded by it: they stay on the previous version until a later
	 * rollout moves them.
	 */
	if (rc == STORE_OK && strcmp(state, "completed") == 0)
		rc = store_exec(db, NULL,
		    "INSERT OR REPLACE INTO node_targets(node_id, component, "
		    "version, rollout_id, rollback) SELECT rn.node_id, "
		    "r.component, r.previous, r.id, 0 FROM rollout_nodes rn "
		    "JOIN rollouts r ON r.id = rn.rollout_id JOIN nodes n ON "
		    "n.id = rn.node_id WHERE rn.rollout_id = ? AND rn.state = "
		    "'skipped' AND r.previous != ''",
		    "i", id);
	return store_wend(s, rc);
}

/* ---- events ---------------------------------------------------------- */

int
store_event_add(struct store *s, const char *actor, const char *action,
    const char *object, const char *detail)
{
	sqlite3 *db;
	int rc;

	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	rc = store_ev(db, actor, action, object, detail);
	return store_wend(s, rc);
}

int
store_event_batch(struct store *s, const char *actor, const char *action,
    const char *const *objects, const char *const *details, const int64_t *ts,
    size_t n)
{
	int64_t now = util_now();
	sqlite3 *db;
	size_t i;
	int rc;

	if (n == 0)
		return STORE_OK;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	for (i = 0; i < n && rc == STORE_OK; i++)
		rc = store_ev_at(db, ts ? ts[i] : now, actor, action,
		    objects[i], details[i]);
	return store_wend(s, rc);
}

/* ?1 after, ?2 node, ?3 pop, ?4 kind (NULL: any), ?5 limit. */
#define EVENT_MATCH                                                            \
	"(?2 IS NULL OR object = ?2) AND (?3 IS NULL OR object = ?3 OR "       \
	"object IN (SELECT id FROM nodes WHERE pop = ?3)) AND (?4 IS NULL "    \
	"OR action = ?4 OR substr(action, 1, length(?4) + 1) = ?4 || '.')"

int
store_event_list(struct store *s, const struct event_filter *f, int64_t after,
    int64_t limit, json_t **out)
{
	static const struct event_filter all;
	struct store_reader *r = store_rd(s);
	int rc;

	if (f == NULL)
		f = &all;
	rc = store_query(r->db, out,
	    "SELECT id, ts, actor, action, object, detail FROM events "
	    "WHERE id > ?1 AND " EVENT_MATCH " ORDER BY id LIMIT ?5",
	    "isssi", after, f->node, f->pop, f->kind, limit);
	store_rd_done(r);
	return rc;
}

int
store_event_tail(
    struct store *s, const struct event_filter *f, int64_t limit, json_t **out)
{
	static const struct event_filter all;
	struct store_reader *r = store_rd(s);
	int rc;

	if (f == NULL)
		f = &all;
	rc = store_query(r->db, out,
	    "SELECT * FROM (SELECT id, ts, actor, action, object, detail "
	    "FROM events WHERE id > ?1 AND " EVENT_MATCH
	    " ORDER BY id DESC LIMIT ?5) ORDER BY id",
	    "isssi", (int64_t)0, f->node, f->pop, f->kind, limit);
	store_rd_done(r);
	return rc;
}

int
store_event_expire(
    struct store *s, int64_t before, int64_t now, int64_t max, int64_t *deleted)
{
	int64_t last = 0, n = 0;
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc, step, changes = 0;

	*deleted = 0;
	if (max <= 0)
		return STORE_OK;
	if ((db = store_wbegin(s, &rc)) == NULL)
		return rc;
	/*
	 * The oldest max rows by id (the rowid's own order: no index, no
	 * sort, at most max rows read), up to the first that is young.
	 */
	st = store_prep(
	    db, "SELECT id, ts FROM events ORDER BY id LIMIT ?", "i", max);
	if (st == NULL)
		return store_wend(s, STORE_ERR);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(st, 1);

		if (ts >= before && ts <= now + STORE_EVENT_SKEW_S)
			break;
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = store_rc(db, step, "event_expire");
	if (rc == STORE_OK && n > 0)
		rc = store_exec(db, &changes,
		    "DELETE FROM events WHERE id <= ?", "i", last);
	rc = store_wend(s, rc);
	if (rc == STORE_OK)
		*deleted = changes;
	return rc;
}

int
store_event_oldest(struct store *s, int64_t *id)
{
	*id = 0;
	return store_row1(s, store_row_int, id, "event_oldest",
	    "SELECT coalesce((SELECT min(id) FROM events), (SELECT seq + 1 "
	    "FROM sqlite_sequence WHERE name = 'events'), 1)",
	    "");
}

int64_t
store_last_event(struct store *s)
{
	return atomic_load(&s->last_event);
}

void
store_on_event(struct store *s, void (*fn)(void))
{
	s->on_event = fn;
}
