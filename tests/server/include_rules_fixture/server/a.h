// Fixture: a module that includes b.
#include "server/b.h"
