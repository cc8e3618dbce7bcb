// Fixture: a module that includes b, and libpq outside server/store.
#include <libpq-fe.h>

#include "server/b.h"
