#!/usr/bin/python3
"""Peer of tailor's CLV fits (src/analytics/clv.cc): the same maximum-likelihood problems solved
by scipy, written from the papers' formulas and not from tailor's code.

  /usr/bin/python3 bench/peer_clv_scipy.py summaries.csv

The CSV has a header `frequency,recency,age,monetary` and one customer per row (x, t_x, T, mean
value of the repeat purchases). Prints one JSON object:
  {"bgnbd": {"r", "alpha", "a", "b", "log_likelihood"},
   "gamma_gamma": {"p", "q", "gamma", "log_likelihood"}}
with the log-likelihoods summed over customers (the Gamma-Gamma's over those with x > 0).

Both fits minimize the mean negative log-likelihood over log-parameters: L-BFGS-B (finite-
difference gradient) from a start that does not depend on the time or money unit, then
Nelder-Mead from there with a small simplex, which needs no gradient and so cannot stop early on
a gradient's rounding; the better of the two is kept.
Needs numpy and scipy (Debian: python3-numpy, python3-scipy).
"""

import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, logsumexp


def bgnbd_log_likelihood(params, x, t_x, T):
    """Per customer: Fader, Hardie & Lee (2005), equation 6."""
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = (betaln(a + 1, b + x[repeat] - 1) - betaln(a, b)
                       - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    return common + logsumexp(np.stack([alive, dropped]), axis=0)


def gamma_gamma_log_likelihood(params, x, m):
    """Per repeat purchaser: the density of the mean of x Gamma(p, nu) values, nu ~ Gamma(q, gamma)."""
    p, q, gamma = params
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + m * x))


def fit(log_likelihood, start, *data):
    n = len(data[0])

    def objective(theta):
        if np.any(np.abs(theta) > 30):
            return np.inf
        value = -np.sum(log_likelihood(np.exp(theta), *data)) / n
        return value if np.isfinite(value) else np.inf

    first = minimize(objective, start, method="L-BFGS-B",
                     options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000, "maxfun": 100000})
    simplex = np.vstack([first.x] + [first.x + 1e-3 * np.eye(len(start))[j]
                                     for j in range(len(start))])
    second = minimize(objective, first.x, method="Nelder-Mead",
                      options={"initial_simplex": simplex, "xatol": 1e-10, "fatol": 1e-14,
                               "maxiter": 100000, "maxfev": 100000})
    best = second if second.fun <= first.fun else first
    params = np.exp(best.x)
    return params, float(np.sum(log_likelihood(params, *data)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: peer_clv_scipy.py summaries.csv")
    data = np.genfromtxt(sys.argv[1], delimiter=",", names=True)
    x, t_x, T, m = (np.atleast_1d(np.asarray(data[name], dtype=float))
                    for name in ("frequency", "recency", "age", "monetary"))
    if not np.any(x > 0):
        sys.exit("no customer has a repeat purchase: neither model can be fitted")

    started = time.perf_counter()  # the fits only, as tailor clv --simulate times them
    # Start at r = a = b = 1 and alpha matching the mean purchase rate r / alpha.
    alpha0 = T.sum() / max(x.sum(), 1e-9)
    (r, alpha, a, b), bg_ll = fit(bgnbd_log_likelihood,
                                  np.log([1.0, alpha0, 1.0, 1.0]), x, t_x, T)

    repeat = x > 0
    # Start at p = 1, q = 2 and gamma matching the mean spend p gamma / (q - 1).
    (p, q, gamma), gg_ll = fit(gamma_gamma_log_likelihood,
                               np.log([1.0, 2.0, m[repeat].mean()]), x[repeat], m[repeat])

    print(json.dumps({
        "bgnbd": {"r": r, "alpha": alpha, "a": a, "b": b, "log_likelihood": bg_ll},
        "gamma_gamma": {"p": p, "q": q, "gamma": gamma, "log_likelihood": gg_ll},
        "fit_seconds": time.perf_counter() - started,
    }))


if __name__ == "__main__":
    main()
