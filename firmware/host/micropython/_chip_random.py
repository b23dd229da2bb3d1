"""MicroPython's `random` as the ESP8266 build has it: getrandbits and seed only (the build leaves out randint,
randrange, choice, random and uniform, which the unix port has)."""
from urandom import getrandbits, seed  # noqa: F401
