// Fixture: sqlite3 where it is allowed.
#include <sqlite3.h>
