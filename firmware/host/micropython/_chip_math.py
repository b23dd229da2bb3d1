"""MicroPython's `math` as the ESP8266 build has it: the unix port's without isclose, inf and nan. `math` is not
an extensible built-in, so hil_main.py's import hook hands this module out for it."""
import math as _m

for _name in dir(_m):
    if _name not in ("isclose", "inf", "nan") and not _name.startswith("__"):
        globals()[_name] = getattr(_m, _name)
del _m, _name
