// Fixture: sqlite3 and libpq where they are allowed.
#include <libpq-fe.h>
#include <sqlite3.h>
