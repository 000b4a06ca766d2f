"""Variables of Morocco's rules. Every Variable subclass defined in a module of this package is loaded."""
