"""jaxsci.data (under construction)."""
