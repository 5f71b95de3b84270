"""The local cloud: an OSS emulator, an STS stub and the wiring that runs the product locally.

Its own product, not test code. It never imports the signing function (functions/sign/):
the two meet only through the wire format and the known-answer vectors.
"""
