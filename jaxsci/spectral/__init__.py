"""jaxsci.spectral (under construction)."""
