/*
 * db_migrate.h - apply the embedded sql/NNN_name.sql migrations over the
 * asynchronous connection, each in its own transaction, under a session
 * advisory lock so several gantryd processes sharing one database never
 * apply the same migration twice.
 */
#ifndef GANTRYD_DB_MIGRATE_H
#define GANTRYD_DB_MIGRATE_H

#include <stdbool.h>

#include "pg.h"

/* ok: schema current at version; else why names the file and the error.
 * fatal is true when retrying cannot help (a migration failed, or the
 * database is newer than the binary), false when the connection broke. */
typedef void (*db_migrate_cb)(
    bool ok, int version, bool fatal, const char *why, void *arg);

/* Start migrating on pg (which must be up).  cb runs exactly once. */
void db_migrate_run(struct pg *pg, db_migrate_cb cb, void *arg);

/* The highest migration version compiled into this binary. */
int db_migrate_latest(void);

#endif /* GANTRYD_DB_MIGRATE_H */
