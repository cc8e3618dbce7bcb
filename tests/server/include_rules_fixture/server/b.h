// Fixture: a module whose .cc includes a.
