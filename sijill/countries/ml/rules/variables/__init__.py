"""Variables of Mali's rules. Every Variable subclass defined in a module of this package is loaded."""
