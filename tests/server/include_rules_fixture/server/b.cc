// Fixture: closes the cycle, and includes websocketpp.
#include "server/b.h"
#include "server/a.h"
#include <websocketpp/frame.hpp>
