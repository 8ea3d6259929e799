"""Command-line interface (thin: parse, resolve config and paths, call the library, print, write JSON)."""
