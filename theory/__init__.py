"""theory: closed forms for toy models of superposition (numpy, scipy, sympy, cvxpy; never torch)."""
