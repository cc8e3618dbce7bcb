// Fixture: closes the cycle, and includes websocketpp.
#include "server/b.h"
#include <websocketpp/frame.hpp>
#include "server/a.h"
