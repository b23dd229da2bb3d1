"""Runs after boot.py: a one-second maintenance window, then one wake of the app."""
import time


def maintenance_window():
    # Ctrl-C now leaves the board at its REPL instead of asleep again within seconds.
    try:
        time.sleep_ms(1000)
    except KeyboardInterrupt:
        print("maintenance: app stopped")
        return False
    return True


if maintenance_window():
    import app

    app.run()
