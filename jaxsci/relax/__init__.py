"""jaxsci.relax (under construction)."""
