"""The sample app and the scripted "outside world" behind ``runstream demo``."""
