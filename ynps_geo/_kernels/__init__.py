"""Numba kernels behind :mod:`ynps_geo.kernels` and :mod:`ynps_geo.terrain`.

Private: no input validation, only numpy and numba. Call the public wrappers instead.
"""
