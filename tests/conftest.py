"""One BLAS/OpenMP thread for the unit tests.

The tests do small linear algebra (matrices of tens to hundreds of rows), where threads buy nothing and, on a shared
machine, threaded BLAS spins and makes them many times slower (a 100 x 100 QR took 0.1 s instead of 7 ms under load).
One thread also makes round-off the same from run to run. Subprocesses (the benchmark scripts) are not affected.
"""
import numpy  # noqa: F401  (the libraries must be loaded before their thread pools can be limited)
import scipy.linalg  # noqa: F401
import threadpoolctl
import torch

threadpoolctl.threadpool_limits(1)
torch.set_num_threads(1)
