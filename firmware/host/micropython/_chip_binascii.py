"""MicroPython's `binascii` as the ESP8266 build has it: the unix port's without crc32."""
from ubinascii import a2b_base64, b2a_base64, hexlify, unhexlify  # noqa: F401
