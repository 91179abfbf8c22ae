"""Hessian spectra: exact Hessian-vector products, Lanczos densities, the error proxy (Eq. 7-8)."""
