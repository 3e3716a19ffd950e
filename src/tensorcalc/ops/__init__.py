"""The primitives, one module per family, each primitive declared in one block with its
implementation, shape rule, jvp rule, transpose rule (linear primitives) and batching rule.

Importing this package imports every family, so every primitive and its rules are registered
whatever the caller imports first:

=============  ====================================================================
structural     broadcast, reshape, transpose, convert, getitem/index updates, sum
strong_zero    the (co)tangent products with a strong zero (``mul_sz``, ``div_sz``)
elementwise    arithmetic and the common elementwise functions, comparisons, where
unary, binary  NumPy's other ufuncs of one and two arguments
reductions     sum/mean/max/min, prod, cumulative sums and products, var, std, …
shape          stacking, splitting, flipping, padding, moveaxis
indexing       take, diagonals, triangles, sort, searchsorted
products       matmul and NumPy's other products (dot, tensordot, kron, cross, …)
einsum         the general contraction
linalg/        inverses and determinants, decompositions, least squares
special        scipy.special: expit, logit, erf, gammaln, xlogy, …
softmax        logsumexp, softmax, log_softmax, and softmax's linear map
fft            the discrete Fourier transforms (one linear primitive)
bessel         the modified Bessel functions Iₙ (numpy.i0)
special_more   scipy.special: gamma, beta, ndtr, ndtri, Bessel i0/i1, entropies, zeta, …
complex_ops    real, imag, conj, abs and angle of complex values
convolution    N-d full convolution (scipy.signal.convolve / correlate)
=============  ====================================================================
"""

from ..core.heap import keep_large_blocks
from ..interpreters.batch import register_batch_ops
from ..interpreters.forward import register_tangent_ops
from . import (  # noqa: F401  (registers every primitive's rules)
    bessel,
    binary,
    complex_ops,
    convolution,
    einsum,
    elementwise,
    fft,
    indexing,
    linalg,
    products,
    reductions,
    shape,
    softmax,
    special,
    special_more,
    strong_zero,
    structural,
    unary,
)

# The interpreters apply a few of these primitives to (co)tangents and batch axes themselves;
# they sit below ops/, so the primitives are handed to them here, once.
register_tangent_ops(add=elementwise.add, broadcast_to=structural.broadcast_to,
                     convert=structural.convert, mul_sz=strong_zero.mul_sz,
                     div_sz=strong_zero.div_sz, mul_sz_p=strong_zero.mul_sz_p,
                     div_sz_p=strong_zero.div_sz_p)
register_batch_ops(transpose=structural.transpose, reshape=structural.reshape,
                   broadcast_to=structural.broadcast_to)

# Derivatives allocate intermediates afresh at every call; keep glibc from handing the freed
# megabytes back to the kernel between calls (core/heap.py; TENSORCALC_HEAP=system: not).
keep_large_blocks()
