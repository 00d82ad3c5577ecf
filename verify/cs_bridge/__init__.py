"""The pieces of ``python -m verify.compressed_sensing`` (the toy model as a compressed-sensing
decoder): settings and result types, decoding trials, transition estimates, output files and the
figure. The job itself and its public names live in :mod:`verify.compressed_sensing`."""
