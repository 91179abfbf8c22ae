"""Hessian spectra: exact Hessian-vector products, Lanczos densities and the error proxy of Eq. 7-8."""
