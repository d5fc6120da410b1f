"""jaxsci.ssm: diagonal state-space models (S4D, S5).

- Kernels: :func:`vandermonde` (the fused, tiled Vandermonde product with a recomputing custom VJP).
"""

from ._vandermonde import vandermonde as vandermonde
from ._vandermonde import vandermonde_naive as vandermonde_naive
from ._vandermonde import vandermonde_split as vandermonde_split
