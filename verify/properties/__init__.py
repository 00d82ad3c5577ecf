"""A property suite to run in CI against your own toy-model trainer or a saved checkpoint.

One command (details and every variable: docs/property_suite.md)::

    pytest --pyargs verify.properties

What it checks, and against what, is chosen by environment variables:

- ``TOYSUP_TRAINER=package.module:function`` — a callable with the signature of
  :func:`toysup.train` ``(features, model, training)`` returning an object with ``.W``
  (C, m, n), ``.b`` (C, n) and ``.loss`` (C,) like :class:`toysup.TrainResult`
  (default: ``toysup:train``). The module is imported from ``sys.path`` or, failing that, from
  the current directory, so the command works from the folder that holds your package.
- ``TOYSUP_CHECKPOINT=path`` — a directory written by :meth:`toysup.TrainResult.save` (several
  separated by ``os.pathsep``). When set without ``TOYSUP_TRAINER``, only the checkpoint (and the
  trainer-independent properties) are checked.
- ``TOYSUP_HYPOTHESIS_PROFILE=dev|ci`` (falls back to ``HYPOTHESIS_PROFILE``; default ``dev``):
  ``dev`` is fast (under a minute on two CPU cores with toysup's trainer), ``ci`` draws more
  examples, trains longer with more seeds, uses more Monte Carlo samples and is derandomized.
- ``TOYSUP_DEVICE`` — the ``TrainConfig.device`` the suite asks the trainer for (default
  ``"cpu"``).
- ``TOYSUP_HYPOTHESIS_DB`` — where hypothesis keeps its example database: a directory,
  ``memory`` or ``none`` (default: ``$TOYSUP_CACHE_DIR/hypothesis``, else
  ``~/.cache/toysup/hypothesis``; never the current directory).

Every statistical check states its error probability (``DELTA`` per comparison) and why its
tolerance is what it is; see the test modules' docstrings.
"""
