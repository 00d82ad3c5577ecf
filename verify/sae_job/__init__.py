"""The pieces of ``python -m verify.sae_recovery`` (SAEs on toy-model activations, scored
against the true features): settings, the computation, the orthogonal control, figures and
output files. The job itself lives in :mod:`verify.sae_recovery`."""
