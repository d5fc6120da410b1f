"""jaxsci.monotone (under construction)."""
