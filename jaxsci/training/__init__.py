"""jaxsci.training (under construction)."""
