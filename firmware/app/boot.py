"""Runs first on every reset: keep the SDK's debug output off the console the rig reads."""
import esp

esp.osdebug(None)
