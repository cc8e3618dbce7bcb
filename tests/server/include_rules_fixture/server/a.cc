// Fixture: sqlite3 outside server/store.
#include "server/a.h"
#include <sqlite3.h>
