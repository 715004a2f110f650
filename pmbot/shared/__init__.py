"""What both planes may use: settings, time helpers, logging and the run contracts."""
